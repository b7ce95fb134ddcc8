import { describe, expect, it } from "vitest";
import { z } from "zod";
import { ServerInputSchema } from "./models.js";
import { fieldErrors } from "./zod-issues.js";

function errorsOf(schema: z.ZodType, input: unknown) {
  const result = schema.safeParse(input);
  if (result.success) throw new Error(`expected ${JSON.stringify(input)} to be rejected`);
  return fieldErrors(result.error);
}

describe("fieldErrors", () => {
  const schema = z.strictObject({
    name: z.string(),
    nested: z.strictObject({ list: z.array(z.number()).optional() }).optional(),
  });

  it("dots the path the way users write it, array indices included", () => {
    expect(errorsOf(schema, { name: "n", nested: { list: [1, "two"] } })).toEqual([
      { path: "nested.list.1", message: expect.any(String) },
    ]);
  });

  it('says "required" for a missing field', () => {
    expect(errorsOf(schema, {})).toEqual([{ path: "name", message: "required" }]);
  });

  it("uses (body) for a problem with the whole input", () => {
    expect(errorsOf(schema, "not an object")).toEqual([{ path: "(body)", message: expect.any(String) }]);
  });

  it("names an unknown field by its own path, nested ones under their parent", () => {
    expect(errorsOf(schema, { name: "n", extra: 1 })).toEqual([{ path: "extra", message: "unknown field extra" }]);
    expect(errorsOf(schema, { name: "n", nested: { lst: [] } })).toEqual([
      { path: "nested.lst", message: "unknown field lst" },
    ]);
  });

  it("gives each of several unknown fields its own path", () => {
    // Two unknown top-level fields are two fields, not one nested path "password.user".
    const paths = errorsOf(schema, { name: "n", password: "x", user: "y" }).map((e) => e.path);
    expect(paths.sort()).toEqual(["password", "user"]);
  });

  it("reports why a record key was refused, not only that it was", () => {
    // POST /servers with a reserved header: the client should learn that mcic sets it.
    const errors = errorsOf(ServerInputSchema, {
      name: "s",
      url: "https://example.com/hook",
      headers: { "webhook-signature": "v1,forged" },
    });
    expect(errors).toEqual([{ path: "headers.webhook-signature", message: "is set by mcic and cannot be overridden" }]);
  });
});
