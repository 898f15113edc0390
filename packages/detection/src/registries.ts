import { Registry, type Module } from '@litv2/core';

/** Dense heads and detectors, built by mmdet type name from the `model` config. */
export const HEADS = new Registry<Module>('head');
export const DETECTORS = new Registry<Module>('detector');
