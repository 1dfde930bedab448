/**
 * CLI entry (`deferflow local-aws [--port P] [--data-dir D]`, wired by the CLI
 * module): starts the local AWS, prints what to export, stops on SIGINT/SIGTERM.
 */
import type { Logger } from 'pino';
import { startLocalAws } from './index.ts';
import type { FaultConfig, LocalAwsOptions } from './types.ts';

export interface LocalAwsCliOptions {
  port?: number | string;
  dataDir?: string;
  host?: string;
  region?: string;
  faults?: Partial<FaultConfig>;
  scriptImages?: LocalAwsOptions['scriptImages'];
  /** Where to print (defaults to stdout). */
  out?: (line: string) => void;
  logger?: Logger;
}

export async function runLocalAwsCli(opts: LocalAwsCliOptions = {}): Promise<void> {
  const print = opts.out ?? ((l: string) => process.stdout.write(`${l}\n`));
  const aws = await startLocalAws({
    port: opts.port === undefined ? 4566 : Number(opts.port),
    host: opts.host,
    dataDir: opts.dataDir ?? '.deferflow/local-aws',
    region: opts.region,
    faults: opts.faults,
    scriptImages: opts.scriptImages,
    logger: opts.logger,
  });
  print(`local AWS listening on ${aws.url} (region ${aws.region}, account ${aws.accountId})`);
  print('export these to point AWS SDKs and the AWS CLI at it:');
  print(`  export AWS_ENDPOINT_URL=${aws.url}`);
  print('  export AWS_ACCESS_KEY_ID=test');
  print('  export AWS_SECRET_ACCESS_KEY=test');
  print(`  export AWS_REGION=${aws.region}`);
  print(`fault knobs: GET/POST ${aws.url}/_localaws/faults   health: ${aws.url}/_localaws/health`);
  await new Promise<void>((resolve) => {
    const stop = (sig: string) => {
      print(`received ${sig}, stopping local AWS...`);
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      void aws.close().then(resolve);
    };
    const onInt = () => stop('SIGINT');
    const onTerm = () => stop('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
  });
}
