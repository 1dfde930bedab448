/** Whether a driver error is a unique-index violation (E11000), on MongoDB and FerretDB alike. */
export function isDuplicateKey(e: unknown): boolean {
  return typeof e === 'object' && e !== null && ((e as { code?: number }).code === 11000 || /E11000|duplicate key/i.test(String((e as Error).message)));
}
