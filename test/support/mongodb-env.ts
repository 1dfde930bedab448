/**
 * Runs in every test worker before the test file: exposes the suite's MongoDB (see
 * mongodb-global-setup.ts) as MONGODB_URI, which the tests and the processes they spawn read.
 */
import { inject } from 'vitest';

const uri = inject('mongodbUri');
if (uri && !process.env.MONGODB_URI) process.env.MONGODB_URI = uri;
