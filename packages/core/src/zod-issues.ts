import type { z } from "zod";
import type { FieldError } from "./errors.js";

/** Turns zod issues into `{path, message}` pairs, the path dotted the way users write it. */
export function fieldErrors(error: z.ZodError): FieldError[] {
  return error.issues.map((issue) => {
    const path = issue.path.map(String).join(".");
    let message = issue.message;
    if (issue.code === "unrecognized_keys") {
      // zod reports unknown keys on the parent; name each key so the client sees which one.
      return {
        path: [path, ...issue.keys].filter(Boolean).join("."),
        message: `unknown field${issue.keys.length > 1 ? "s" : ""} ${issue.keys.join(", ")}`,
      };
    }
    if (issue.code === "invalid_type" && message.includes("received undefined")) {
      message = "required";
    }
    return { path: path || "(body)", message };
  });
}
