export * from './model';
export * from './presets';
export * from './register';
