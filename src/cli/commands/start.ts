import type { Command } from 'commander';
export function registerStartCommand(_program: Command): void {}
