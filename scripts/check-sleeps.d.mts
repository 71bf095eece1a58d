export interface RawSleep {
  file: string;
  line: number;
  what: string;
  text: string;
}
export function findSleeps(root: string): RawSleep[];
