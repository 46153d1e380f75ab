import type { FastifyInstance, FastifyRequest } from "fastify";
import type { CompatProfileName } from "../../controller/config.js";
import { assert } from "../../shared/assert.js";
import { clientSession } from "../metadataRoutes.js";
import type { MetadataApi, MetadataOperations } from "../operations.js";
import type { CompatContext } from "./actions.js";
import { readInput } from "./input.js";
import type { InputRules } from "./input.js";
import type { CompatMethod, CompatProfile, CompatRoute } from "./profiles.js";
import { compatProfiles } from "./profiles.js";

/**
 * The compatibility profiles of SPEC §4.1: clients of the earlier Python and Go implementations work
 * unchanged against the canonical API. This is a thin alias layer: every route reads the flavour's
 * request into a canonical one (input.ts), calls the canonical operation (actions.ts → operations.ts)
 * and reshapes the answer (answers.ts). Errors are the canonical ones, `{ code, message, … }` with their
 * status, mapped in the app's one error handler.
 *
 * Where the routes are served:
 * - every profile under `/compat/<profile>/…`, always;
 * - at the root, first every route of the chosen profile (`--compat-profile`, flask-a by default), then
 *   the routes of the other profiles in SPEC §4.1's order (flask-a, flask-b, syncobj, fastapi, go-rest),
 *   each only where its method and path (parameter names aside) are not taken yet. So the chosen profile
 *   wins every collision, and among the others the earlier in that order wins;
 * - never at a path of the canonical API: `/v1…`, `/healthz`, `/readyz`, `/metrics`, `/docs…`, nor
 *   under `/compat/` at the root.
 *
 * Writes carry `forwardToLeader`, so a follower forwards them to the leader like the canonical writes.
 * Bodies are JSON; as Gin did, a body with no content type or a text one is
 * read as JSON too, and an empty body is no body (go-rest sent ids in the query of a bodiless POST).
 */

export interface CompatRoutesOptions {
  readonly operations: MetadataOperations;
  readonly metadata: MetadataApi;
  readonly rootProfile: CompatProfileName;
}

/** One route served at one URL. */
export interface CompatMount {
  readonly profile: CompatProfile;
  readonly route: CompatRoute;
  readonly method: CompatMethod;
  readonly url: string;
}

/** Paths of the canonical API that no profile may take at the root. */
const reservedPaths = ["/v1", "/healthz", "/readyz", "/metrics", "/docs", "/compat"] as const;
/** Keys every compat body may hold and none reads: the time a client stamped its record with. */
const alwaysIgnoredKeys = ["timestamp"] as const;

export async function compatRoutes(app: FastifyInstance, options: CompatRoutesOptions): Promise<void> {
  readBodiesAsJson(app);
  const context: CompatContext = { operations: options.operations, metadata: options.metadata };
  for (const mount of compatMounts(options.rootProfile)) {
    const { action } = mount.route;
    const rules: InputRules = { keyMatching: mount.profile.keyMatching, integerIs: mount.profile.integerIs, keys: action.keys, ignored: [...action.ignored, ...alwaysIgnoredKeys] };
    app.route({
      method: mount.method,
      url: mount.url,
      config: action.write ? { forwardToLeader: true } : {},
      // Compat routes stay out of the OpenAPI document: /docs describes the canonical API, docs/COMPAT.md these.
      schema: { hide: true },
      handler: async (request: FastifyRequest) => {
        const session = action.write ? clientSession(request) : undefined;
        return action.run(readInput({ params: request.params, query: request.query, body: request.body, session }, rules), context);
      },
    });
  }
}

/** Every URL each route is served at, by the rule of the module comment. */
export function compatMounts(rootProfile: CompatProfileName, profiles: readonly CompatProfile[] = compatProfiles): CompatMount[] {
  const chosen = profiles.find((profile) => profile.name === rootProfile);
  assert(chosen !== undefined, `Cannot mount compatibility profile ${rootProfile} at the root as it is not one of ${profiles.map((p) => p.name).join(", ")}`);
  const prefixed = profiles.flatMap((profile) => mountsOf(profile, `/compat/${profile.name}`));
  const taken = new Set<string>();
  const root = [chosen, ...profiles.filter((profile) => profile !== chosen)]
    .flatMap((profile) => mountsOf(profile, ""))
    .filter((mount) => {
      const key = routeKey(mount.method, mount.url);
      if (isReserved(mount.url) || taken.has(key)) return false;
      taken.add(key);
      return true;
    });
  return [...prefixed, ...root];
}

function mountsOf(profile: CompatProfile, prefix: string): CompatMount[] {
  return profile.routes.flatMap((route) => route.methods.map((method) => ({ profile, route, method, url: `${prefix}${route.path}` })));
}

/** Method and path with parameter names dropped: `/get_topic/:name` and `/get_topic/:topic` are one route to the router. */
function routeKey(method: CompatMethod, url: string): string {
  return `${method} ${url.replace(/:[^/]+/g, ":")}`;
}

function isReserved(url: string): boolean {
  return reservedPaths.some((path) => url === path || url.startsWith(`${path}/`));
}

/** In this plugin only (Fastify encapsulation): bodies of any content type are JSON, and an empty body is none. */
function readBodiesAsJson(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser("error", "error");
  const parser = (request: FastifyRequest, body: string | Buffer, done: (error: Error | null, body?: unknown) => void): void => {
    const text = typeof body === "string" ? body : body.toString("utf8");
    if (text.length === 0) return done(null, undefined);
    parseJson(request, text, done);
  };
  app.removeContentTypeParser(["application/json", "text/plain"]);
  app.addContentTypeParser(["application/json", "text/plain"], { parseAs: "string" }, parser);
  app.addContentTypeParser("*", { parseAs: "string" }, parser);
}
