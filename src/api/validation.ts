import { Ajv } from "ajv";
import type { FastifySchemaCompiler } from "fastify";

/**
 * Request validation: bodies are JSON and must have the declared types exactly (a number where a
 * string belongs is a 400, not silently turned into "7"); path and query parameters arrive as text
 * and are coerced to the declared types. Unknown properties are refused, never silently dropped.
 */
const strict = new Ajv({ coerceTypes: false, removeAdditional: false, useDefaults: true });
const coercing = new Ajv({ coerceTypes: "array", removeAdditional: false, useDefaults: true });

export const validatorCompiler: FastifySchemaCompiler<object> = ({ schema, httpPart }) =>
  (httpPart === "body" ? strict : coercing).compile(schema);

/** The field a schema error is about, as a path like `body.value`: the missing or unknown property when there is one. */
export function validationField(where: string, instancePath: string, params: Record<string, unknown> | undefined): string {
  const property = params?.["missingProperty"] ?? params?.["additionalProperty"];
  return `${where}${instancePath.replaceAll("/", ".")}${property === undefined ? "" : `.${String(property)}`}`;
}
