/**
 * Copies a job's CloudWatch log lines into the task log as they arrive (Airflow's print_log),
 * each line once: the position in every stream is a forward token kept in a cursor, and the cursor
 * travels with the deferral (next_kwargs) so the resumed try continues where the first stopped.
 */
import { DescribeLogStreamsCommand, GetLogEventsCommand, type CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import type { Logger } from 'pino';
import { isAwsErrorCode, isTransient } from '../aws-errors.ts';

/** Stream name → next forward token (JSON-safe, stored in next_kwargs across a deferral). */
export type LogCursor = Record<string, string>;

export class LogTailer {
  private readonly cursor: LogCursor;

  constructor(
    private readonly client: CloudWatchLogsClient,
    private readonly logGroup: string,
    private readonly jobName: string,
    private readonly log: Logger,
    cursor: LogCursor = {},
  ) {
    this.cursor = { ...cursor };
  }

  get position(): LogCursor {
    return { ...this.cursor };
  }

  /** Print every new line; returns how many. A missing group/stream just means "no logs yet". */
  async poll(signal?: AbortSignal): Promise<number> {
    const opts = signal ? { abortSignal: signal } : undefined;
    let streams: string[];
    try {
      streams = await this.streams(opts);
    } catch (e) {
      if (isAwsErrorCode(e, 'ResourceNotFoundException')) return 0;
      if (isTransient(e)) return 0; // next poll catches up
      throw e;
    }
    let printed = 0;
    const prefixed = streams.length > 1;
    for (const stream of streams) {
      let token = this.cursor[stream];
      for (;;) {
        let out;
        try {
          out = await this.client.send(
            new GetLogEventsCommand({ logGroupName: this.logGroup, logStreamName: stream, startFromHead: true, ...(token ? { nextToken: token } : {}) }),
            opts,
          );
        } catch (e) {
          if (isAwsErrorCode(e, 'ResourceNotFoundException') || isTransient(e)) break;
          throw e;
        }
        for (const ev of out.events ?? []) {
          const msg = (ev.message ?? '').replace(/\n$/, '');
          this.log.info(prefixed ? `[${stream}] ${msg}` : msg);
          printed++;
        }
        const next = out.nextForwardToken;
        // GetLogEvents returns the same forward token once the end of the stream is reached.
        if (!next || next === token) break;
        token = next;
        this.cursor[stream] = next;
        if (!out.events?.length) break;
      }
    }
    return printed;
  }

  private async streams(opts: { abortSignal: AbortSignal } | undefined): Promise<string[]> {
    const names: string[] = [];
    let nextToken: string | undefined;
    do {
      const out = await this.client.send(
        new DescribeLogStreamsCommand({ logGroupName: this.logGroup, logStreamNamePrefix: `${this.jobName}/`, ...(nextToken ? { nextToken } : {}) }),
        opts,
      );
      for (const s of out.logStreams ?? []) if (s.logStreamName) names.push(s.logStreamName);
      nextToken = out.nextToken;
    } while (nextToken);
    return names.sort();
  }
}
