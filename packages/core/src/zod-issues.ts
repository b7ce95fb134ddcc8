import type { z } from "zod";
import type { FieldError } from "./errors.js";

/** Turns zod issues into `{path, message}` pairs, the path dotted the way users write it. */
export function fieldErrors(error: z.ZodError): FieldError[] {
  return error.issues.flatMap((issue): FieldError[] => {
    const path = issue.path.map(String).join(".");
    if (issue.code === "unrecognized_keys") {
      // zod reports unknown keys on the parent; name each key so the client sees which one.
      return issue.keys.map((key) => ({
        path: [path, key].filter(Boolean).join("."),
        message: `unknown field ${key}`,
      }));
    }
    if (issue.code === "invalid_key") {
      // A refused record key: the nested issues hold the reason ("is set by mcic ...").
      const reason = issue.issues[0]?.message ?? issue.message;
      return [{ path: path || "(body)", message: reason }];
    }
    let message = issue.message;
    if (issue.code === "invalid_type" && message.includes("received undefined")) message = "required";
    return [{ path: path || "(body)", message }];
  });
}
