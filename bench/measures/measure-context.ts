/**
 * What `npm run bench -- round-trips` hands each area's measure module (bench/measures/*.ts that
 * export `measure`): the server to use, its pid when the bench started it (CPU share), and the
 * bench's command-line arguments. A module returns flat figures (the keys the issue asks for)
 * plus any detail objects; the aggregator merges them into one JSON object.
 */
export interface MeasureContext {
  uri: string;
  serverPid: number | null;
  argv: readonly string[];
}

export type Measure = (ctx: MeasureContext) => Promise<Record<string, unknown>>;
