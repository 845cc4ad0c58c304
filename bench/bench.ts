/** A benchmark registered in bench/run.ts. */
export interface Bench {
  name: string;
  summary: string;
  run(args: string[]): Promise<void>;
}
