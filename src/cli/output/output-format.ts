/** `--output` values shared by every command (Airflow's `-o table|json|plain`). */
export const OUTPUT_FORMATS = ['table', 'json', 'plain'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];
