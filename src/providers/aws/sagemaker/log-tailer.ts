/**
 * Copies a job's CloudWatch log lines into the task log as they arrive (Airflow's print_log),
 * each line once: the position in every stream is a forward token kept in a cursor. The worker
 * copies while it runs; the cursor travels with the deferral (trigger kwargs + next_kwargs); the
 * triggerer's SageMaker trigger copies while the task is deferred and hands its cursor back in the
 * event payload, so the resumed try continues where the last copy stopped.
 *
 * The cursor of a stream advances only after its lines were written (`out` resolved): a copy that
 * fails half-way is retried from the same place, never skipped.
 */
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import type { Logger } from 'pino';
import { isNotFound, isTransient } from '../aws-errors.ts';
import { cloudWatchLogsSdk } from '../sdk.ts';

/** Stream name → next forward token (JSON-safe, stored in next_kwargs across a deferral). */
export type LogCursor = Record<string, string>;

/** Where copied lines go when not a logger: resolves once they are stored; `position` is the cursor after them. */
export type LogLineWriter = (lines: string[], position: LogCursor) => Promise<void>;

export class LogTailer {
  private readonly cursor: LogCursor;
  private readonly write: LogLineWriter;

  constructor(
    private readonly client: CloudWatchLogsClient,
    private readonly logGroup: string,
    private readonly jobName: string,
    out: Logger | LogLineWriter,
    cursor: LogCursor = {},
  ) {
    this.cursor = { ...cursor };
    this.write =
      typeof out === 'function'
        ? out
        : async (lines) => {
            for (const l of lines) out.info(l);
          };
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
      if (isNotFound(e)) return 0;
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
            new (cloudWatchLogsSdk().GetLogEventsCommand)({
              logGroupName: this.logGroup,
              logStreamName: stream,
              startFromHead: true,
              ...(token ? { nextToken: token } : {}),
            }),
            opts,
          );
        } catch (e) {
          if (isNotFound(e) || isTransient(e)) break;
          throw e;
        }
        const lines = (out.events ?? []).map((ev) => {
          const msg = (ev.message ?? '').replace(/\n$/, '');
          return prefixed ? `[${stream}] ${msg}` : msg;
        });
        const next = out.nextForwardToken;
        // GetLogEvents returns the same forward token once the end of the stream is reached.
        const advanced = !!next && next !== token;
        if (lines.length) await this.write(lines, advanced ? { ...this.cursor, [stream]: next } : { ...this.cursor });
        printed += lines.length;
        if (!advanced) break;
        token = next;
        this.cursor[stream] = next;
        if (!lines.length) break;
      }
    }
    return printed;
  }

  private async streams(opts: { abortSignal: AbortSignal } | undefined): Promise<string[]> {
    const names: string[] = [];
    let nextToken: string | undefined;
    do {
      const out = await this.client.send(
        new (cloudWatchLogsSdk().DescribeLogStreamsCommand)({
          logGroupName: this.logGroup,
          logStreamNamePrefix: `${this.jobName}/`,
          ...(nextToken ? { nextToken } : {}),
        }),
        opts,
      );
      for (const s of out.logStreams ?? []) if (s.logStreamName) names.push(s.logStreamName);
      nextToken = out.nextToken;
    } while (nextToken);
    return names.sort();
  }
}
