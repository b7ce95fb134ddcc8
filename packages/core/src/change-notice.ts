import { z } from "zod";

/** What the API announces on `<prefix>:changed` after every committed write. */
export const ChangeNoticeSchema = z.object({
  kind: z.enum(["cluster", "server"]),
  name: z.string(),
  op: z.enum(["created", "updated", "deleted"]),
});
export type ChangeNotice = z.infer<typeof ChangeNoticeSchema>;

/** Parses a notice from the channel; undefined for anything else (the caller logs it). */
export function parseChangeNotice(text: string): ChangeNotice | undefined {
  try {
    const result = ChangeNoticeSchema.safeParse(JSON.parse(text));
    return result.success ? result.data : undefined;
  } catch {
    return undefined;
  }
}
