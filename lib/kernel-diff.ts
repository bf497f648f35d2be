// placeholder replaced below
export async function diffAgainstKernel(_o: unknown): Promise<string> { throw new Error('not yet'); }
