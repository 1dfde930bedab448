/**
 * Entry point of a DAG-file child process (started by child-launch.ts with a TypeScript loader).
 * argv[2] is its ChildConfig as JSON.
 */
import type { ChildConfig } from './child-protocol.ts';
import { runChild } from './dag-file-child.ts';

const config = JSON.parse(process.argv[2] ?? '{"folders":[]}') as ChildConfig;
await runChild(config);
