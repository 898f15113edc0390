export * from './semfpn_fixture';
