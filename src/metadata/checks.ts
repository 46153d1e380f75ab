import { limits } from "../shared/limits.js";
import type { Rejection } from "./results.js";
import { reject } from "./results.js";

/**
 * Range checks shared by the command validators. Each returns a rejection naming the field, or undefined.
 * The decoder already guarantees types; these guarantee values.
 */
const portMax = 65_535;

/** Broker and partition ids: Kafka int32s, never negative. */
export function checkId(value: number, field: string): Rejection | undefined {
  if (Number.isSafeInteger(value) && value >= 0 && value <= limits.metadata.idMax) return undefined;
  return invalid(`Cannot accept ${field} as it is not an integer in [0, ${limits.metadata.idMax}]: current value is ${value}`, field);
}

/** Epochs, sequences, producer ids: any non-negative safe integer. */
export function checkCount(value: number, field: string): Rejection | undefined {
  if (Number.isSafeInteger(value) && value >= 0) return undefined;
  return invalid(`Cannot accept ${field} as it is not a non-negative integer: current value is ${value}`, field);
}

export function checkPort(value: number, field: string): Rejection | undefined {
  if (Number.isSafeInteger(value) && value >= 1 && value <= portMax) return undefined;
  return invalid(`Cannot accept ${field} as it is not a port in [1, ${portMax}]: current value is ${value}`, field);
}

export function checkText(value: string, field: string, options: { readonly allowEmpty?: boolean } = {}): Rejection | undefined {
  if (value.length === 0 && options.allowEmpty !== true) return invalid(`Cannot accept ${field} as it is empty`, field);
  if (value.length <= limits.metadata.stringLengthMax) return undefined;
  return invalid(`Cannot accept ${field} as it is longer than ${limits.metadata.stringLengthMax} characters: current length is ${value.length}`, field);
}

const topicNamePattern = /^[a-zA-Z0-9._-]+$/;

/** Kafka's rule: a topic name becomes a directory on every replica's disk (SPEC §5), so it must be path-safe. */
export function checkTopicName(name: string, field: string): Rejection | undefined {
  const lengthMax = limits.metadata.topicNameLengthMax;
  if (name.length === 0 || name.length > lengthMax) {
    return invalid(`Cannot accept ${field} as its length is not in [1, ${lengthMax}]: current length is ${name.length}`, field);
  }
  if (!topicNamePattern.test(name) || name === "." || name === "..") {
    return invalid(`Cannot accept ${field} as it holds characters other than ASCII letters, digits, '.', '_' and '-' (or is '.' or '..'): current value is ${JSON.stringify(name)}`, field);
  }
  return undefined;
}

function invalid(message: string, field: string): Rejection {
  return reject("INVALID_COMMAND", message, field);
}
