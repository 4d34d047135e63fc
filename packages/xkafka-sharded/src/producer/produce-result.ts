/** Where a produced record landed (the broker acknowledged it). */
export interface ProduceResult {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
}
