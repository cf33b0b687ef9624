/** The `:id` path parameter of a report request: parsed, declared, and its 404, in one place. */
import { ObjectId } from "mongodb";
import { PROBLEMS, ProblemError } from "./problems.ts";
import type { ParameterDeclaration } from "./route.ts";

export const ID_PATTERN = "^[0-9a-fA-F]{24}$";

export const idParameter: ParameterDeclaration = {
  name: "id",
  in: "path",
  required: true,
  description: "the request's id (24 hexadecimal characters)",
  schema: { type: "string", pattern: ID_PATTERN },
  problem: PROBLEMS.invalidId,
};

export function parseId(raw: string): ObjectId {
  if (!new RegExp(ID_PATTERN).test(raw)) {
    throw new ProblemError(PROBLEMS.invalidId, `${JSON.stringify(raw)} is not a report id (24 hexadecimal characters)`);
  }
  return new ObjectId(raw);
}

export function reportNotFound(id: ObjectId): ProblemError {
  return new ProblemError(PROBLEMS.reportNotFound, `no report request with id ${String(id)}`);
}
