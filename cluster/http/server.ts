import { BadRequestError, errorToWire } from "../../src/errors.js";
import { parseReplay } from "../replay.js";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { NatsConnection } from "@nats-io/transport-node";
import { type Clock, systemClock } from "../../src/clock.js";
import { type Logger, silentLogger } from "../../src/log.js";
import type { NodeMetrics } from "../metrics.js";
import type { ShoalNode } from "../node.js";
import { gatherProjectionStatus, type ProjectionReport } from "../projection-status.js";
import { type NodeStatus, requestStatus } from "../status.js";
import { type GroupSummary, groupSummaries, type PinSummary, pinSummaries } from "../cluster-status.js";
import { type ClusterRequests, mergeRequests } from "../cluster-requests.js";
import type { ClusterLoadSummary } from "../load-service.js";
import { AdminGuard } from "./admin-auth.js";
import { Dashboard } from "./dashboard.js";
import { EventHistory } from "./event-history.js";
import { streamEvents } from "./event-stream.js";

export interface NodeHttpOptions {
  /** Port to listen on; 0 picks a free one ({@link NodeHttp.port} says which). */
  port: number;
  /** Interface to bind. Default 127.0.0.1: beyond loopback is a choice (see docs/SECURITY.md). */
  host?: string;
  /** The cluster's name, for the dashboard's title (the node may not have started yet). */
  cluster: string;
  /**
   * The token `POST /admin/drain` requires (`Authorization: Bearer <token>`). Without one the
   * admin routes answer local requests when {@link host} is loopback, and nobody otherwise.
   */
  adminToken?: string;
  /** Called once, on the first authorized `POST /admin/drain`: the caller drains the node. */
  onDrain: () => void;
  logger?: Logger;
  /** The dashboard's files; default the built ones of this package ({@link Dashboard.load}). */
  dashboard?: Dashboard;
  /** Time for `/cluster` (its `at` and how long it waits for the projections); default the system's. */
  clock?: Clock;
}

/** What the routes read once the node is up: given to {@link NodeHttp.attach}. */
export interface NodeHttpTarget {
  node: ShoalNode;
  /** The node's connection: `/cluster` asks the members over it, `/events` subscribes on it. */
  nc: NatsConnection;
  metrics: NodeMetrics;
}

/** What `GET /cluster` answers: this node's view of the cluster plus each member's own status. */
export interface ClusterView {
  cluster: string;
  /** When this node answered (ms since the epoch, its clock): what the projections' commit times are measured against. */
  at: number;
  leader: string | null;
  epoch: number | null;
  mapVersion: number | null;
  /** Every member that answered within 1 s, by id. */
  nodes: NodeStatus[];
  /** Members in this node's view that did not answer. */
  unreachable: string[];
  /**
   * The cluster's projections, read cheaply from their buckets (lag as each partition last
   * reported it); empty when they could not be read within {@link PROJECTIONS_TIMEOUT_MS}.
   */
  projections: ProjectionReport[];
  /**
   * Client requests the members' ingresses handled over their last 10 s, per actor type and in
   * total, each with its nodes' parts (from their statuses; see `RequestStats`).
   */
  requests: ClusterRequests;
  /** The leader's view of the cluster's load (busiest shards, hottest actors, per node); null when the leader did not answer. */
  load: ClusterLoadSummary | null;
  /** The role groups of this node's map, each with the members that may host it. */
  groups: GroupSummary[];
  /** The pinned tenants of this node's map, each with its owner and whether it runs where pinned. */
  pins: PinSummary[];
}

/** Request bodies are never used; past this many bytes the request is refused. */
const MAX_BODY = 1024;
const STATUS_TIMEOUT_MS = 1000;
/** How long `/cluster` waits for the projections' buckets; the dashboard gives up on it after 3 s. */
const PROJECTIONS_TIMEOUT_MS = 1500;

/** A route's handler; `body` is the request's body, read whole (at most {@link MAX_BODY} bytes). */
type Handler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void | Promise<void>;

/**
 * A node's HTTP interface (plain `node:http`): `GET /healthz`, `/metrics` (Prometheus text),
 * `/status`, `/cluster`, `/events` (server-sent cluster events), `/` and `/dashboard` (HTML,
 * with its files under `/assets/`), and `POST /admin/drain` (guarded by {@link AdminGuard}).
 * It listens before the node starts (so a port in use fails before the node joins the
 * cluster); until {@link attach} the node's routes answer 503. Every answer but the dashboard's
 * is JSON; errors are `{error}`. Nothing a client sends can throw out of a handler.
 */
export class NodeHttp {
  private readonly server: Server;
  private readonly log: Logger;
  private readonly routes: Record<string, { method: "GET" | "POST"; handle: Handler }>;
  private readonly streams = new Set<() => void>();
  private readonly guard: AdminGuard;
  private readonly dashboard: Dashboard;
  private target: NodeHttpTarget | undefined;
  private history: EventHistory | undefined;
  private bound = 0;
  private draining = false;
  private stopped: Promise<void> | undefined;

  private constructor(private readonly opts: NodeHttpOptions) {
    this.log = (opts.logger ?? silentLogger).child({ part: "http" });
    this.guard = new AdminGuard(this.host, opts.adminToken);
    this.dashboard = opts.dashboard ?? Dashboard.load();
    if (this.dashboard.missing !== undefined) this.log.warn({ why: this.dashboard.missing }, "no dashboard");
    const ofNode = (handle: (t: NodeHttpTarget, req: IncomingMessage, res: ServerResponse) => void | Promise<void>) =>
      get((req, res) => (this.target === undefined ? json(res, 503, { error: "the node is starting" }) : handle(this.target, req, res)));
    const page = get((_, res) => this.page(res));
    this.routes = {
      "/healthz": get((_, res) => this.health(res)),
      "/metrics": ofNode(async (t, _, res) => send(res, 200, t.metrics.contentType, await t.metrics.metrics())),
      "/status": ofNode((t, _, res) => json(res, 200, t.node.status())),
      "/cluster": ofNode(async (t, _, res) => json(res, 200, await this.clusterView(t))),
      "/events": ofNode((t, req, res) => this.events(t, req, res)),
      "/favicon.ico": get((_, res) => this.asset("favicon.svg", res)),
      "/": page,
      "/dashboard": page,
      "/admin/drain": { method: "POST", handle: (req, res) => this.drain(req, res) },
      "/admin/replay": { method: "POST", handle: (req, res, body) => this.replay(req, res, body) },
    };
    this.server = createServer({ headersTimeout: 10_000, requestTimeout: 15_000 }, (req, res) => this.onRequest(req, res));
    this.server.on("clientError", (err: NodeJS.ErrnoException, socket: Socket) => refuse(err, socket));
  }

  /** Starts listening; rejects if the port cannot be bound (e.g. `EADDRINUSE`). */
  static async start(opts: NodeHttpOptions): Promise<NodeHttp> {
    const http = new NodeHttp(opts);
    const server = http.server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(opts.port, http.host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    server.on("error", (err) => http.log.error({ err }, "http server error"));
    http.bound = (server.address() as AddressInfo).port;
    return http;
  }

  /** The port bound (the free one picked when asked for port 0). */
  get port(): number {
    return this.bound;
  }

  /** The address listened on. */
  get host(): string {
    return this.opts.host ?? "127.0.0.1";
  }

  /** True when `POST /admin/drain` requires the admin token. */
  get adminTokenRequired(): boolean {
    return this.guard.tokenRequired;
  }

  /** Serves `target`'s node from now on (before, its routes answer 503 and /healthz says "starting"). */
  attach(target: NodeHttpTarget): void {
    this.target = target;
    this.history?.stop();
    this.history = EventHistory.subscribe(target.nc, target.node.cluster);
  }

  /** Ends every event stream and closes every connection (once; later calls wait for the same). */
  stop(): Promise<void> {
    this.stopped ??= new Promise<void>((resolve) => {
      this.history?.stop();
      for (const close of [...this.streams]) close();
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    return this.stopped;
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    // Bodies are read (so a keep-alive connection stays usable) up to a small cap; only admin
    // requests use them.
    let size = 0;
    let answered = false;
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY) chunks.push(chunk);
      if (size <= MAX_BODY || answered) return;
      answered = true;
      res.setHeader("Connection", "close");
      json(res, 413, { error: `request body over ${MAX_BODY} bytes` });
    });
    req.on("error", () => undefined);
    req.on("end", () => {
      if (answered) return;
      answered = true;
      Promise.resolve()
        .then(() => this.route(req, res, Buffer.concat(chunks)))
        .catch((err: unknown) => {
          this.log.error({ err, url: req.url }, "http handler failed");
          if (!res.headersSent) json(res, 500, { error: "internal error" });
          else res.destroy();
        });
    });
  }

  private route(req: IncomingMessage, res: ServerResponse, body: Buffer): void | Promise<void> {
    const path = (req.url ?? "/").split(/[?#]/, 1)[0]!;
    const route = this.routes[path] ?? (path.startsWith("/assets/") ? get((_, res) => this.asset(path.slice(8), res)) : undefined);
    if (route === undefined) return json(res, 404, { error: `no route ${path.slice(0, 200)}` });
    const method = req.method === "HEAD" && route.method === "GET" ? "GET" : req.method;
    if (method !== route.method) {
      const allow = route.method === "GET" ? "GET, HEAD" : "POST";
      return json(res, 405, { error: `${req.method} not allowed on ${path}; use ${allow}` }, { Allow: allow });
    }
    return route.handle(req, res, body);
  }

  private health(res: ServerResponse): void {
    if (this.target === undefined) return json(res, 503, { ok: false, error: "starting", cluster: this.opts.cluster });
    const n = this.target.node;
    const self = n.membership.self;
    const reason = n.stopping
      ? "stopping"
      : this.draining || self.state === "draining"
        ? "draining"
        : n.map === undefined
          ? "no shard map yet"
          : self.state !== "active"
            ? `member state is ${self.state}`
            : !n.membership.holdsLease()
              ? "membership lease lapsed"
              : undefined;
    const facts = { node: n.nodeId, cluster: n.cluster, state: self.state, mapVersion: n.map?.version ?? null, shards: n.ownedShards().length };
    if (reason === undefined) json(res, 200, { ok: true, ...facts });
    else json(res, 503, { ok: false, error: reason, ...facts });
  }

  private async clusterView({ node, nc }: NodeHttpTarget): Promise<ClusterView> {
    const self = node.status();
    const records = node.membership.records();
    const ids = records.map((r) => r.id);
    // This node answers from memory; the others over NATS, in parallel with the projections.
    // Those are optional: /cluster answers without them rather than fail or wait on JetStream.
    const clock = this.opts.clock ?? systemClock;
    const projections = within(gatherProjectionStatus(nc, node.cluster, undefined, false), PROJECTIONS_TIMEOUT_MS, [], clock);
    const all = await Promise.all(ids.map((id) => (id === node.nodeId ? self : requestStatus(nc, node.cluster, id, STATUS_TIMEOUT_MS))));
    const reports = await projections;
    const nodes = all.filter((s): s is NodeStatus => s !== undefined);
    return {
      cluster: node.cluster,
      at: clock.now(),
      leader: self.leader,
      epoch: self.epoch,
      mapVersion: self.mapVersion,
      nodes,
      unreachable: ids.filter((_, i) => all[i] === undefined),
      projections: reports,
      requests: mergeRequests(nodes),
      load: nodes.find((s) => s.node === self.leader)?.clusterLoad ?? null,
      groups: groupSummaries(node.map, records),
      pins: pinSummaries(node.map, records),
    };
  }

  private events(_: NodeHttpTarget, req: IncomingMessage, res: ServerResponse): void {
    if (req.method === "HEAD" || this.history === undefined) return send(res, 200, "text/event-stream; charset=utf-8", "");
    const last = req.headers["last-event-id"];
    const close = streamEvents(res, this.history, typeof last === "string" ? last : undefined);
    this.streams.add(close);
    res.on("close", () => this.streams.delete(close));
  }

  private page(res: ServerResponse): void {
    const html = this.dashboard.page(this.opts.cluster);
    if (html === undefined) return json(res, 503, { error: this.dashboard.missing });
    send(res, 200, "text/html; charset=utf-8", html, PAGE_HEADERS);
  }

  private asset(name: string, res: ServerResponse): void {
    const asset = this.dashboard.asset(name);
    if (asset === undefined) return json(res, 404, { error: `no asset ${name.slice(0, 200)}` });
    send(res, 200, asset.contentType, asset.body, { "X-Content-Type-Options": "nosniff" });
  }

  /** False (having answered) when the admin guard refuses the request. */
  private admitted(req: IncomingMessage, res: ServerResponse): boolean {
    const refused = this.guard.check(req.headers);
    if (refused === undefined) return true;
    this.log.warn({ status: refused.status, remote: req.socket.remoteAddress }, "admin request refused");
    json(res, refused.status, { error: refused.error }, refused.headers);
    return false;
  }

  /** `POST /admin/replay` with a JSON body (see `replay.ts`): answers the result, or the error with its HTTP status. */
  private async replay(req: IncomingMessage, res: ServerResponse, raw: Buffer): Promise<void> {
    if (!this.admitted(req, res)) return;
    if (this.target === undefined) return json(res, 503, { error: "the node is starting" });
    try {
      const request = parseReplay(parseJson(raw));
      const result = await this.target.node.replay(request);
      this.log.info({ replay: request }, "replay done over HTTP");
      json(res, 200, result);
    } catch (err) {
      const wire = errorToWire(err);
      json(res, wire.code === "BAD_REQUEST" ? 400 : wire.code === "ACTOR_MOVED" ? 409 : 503, { error: wire });
    }
  }

  private drain(req: IncomingMessage, res: ServerResponse): void {
    if (!this.admitted(req, res)) return;
    json(res, 202, { draining: true });
    if (this.draining) return;
    this.draining = true;
    this.log.info("drain requested over HTTP");
    try {
      this.opts.onDrain();
    } catch (err) {
      this.log.error({ err }, "onDrain threw");
    }
  }
}

/**
 * The dashboard page loads only its own files and talks only to this node: no inline script or
 * style, no framing, no other origin.
 */
const PAGE_HEADERS = {
  "Content-Security-Policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
};

/** What `work` resolves to, or `fallback` if it rejects or takes longer than `ms`. */
function within<T>(work: Promise<T>, ms: number, fallback: T, clock: Clock): Promise<T> {
  return new Promise((resolve) => {
    const timer = clock.setTimeout(() => resolve(fallback), ms);
    work.then(
      (v) => {
        timer.cancel();
        resolve(v);
      },
      () => {
        timer.cancel();
        resolve(fallback);
      },
    );
  });
}

const get = (handle: Handler) => ({ method: "GET" as const, handle });

function send(res: ServerResponse, status: number, contentType: string, body: string | Buffer, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "Content-Type": contentType, "Content-Length": Buffer.byteLength(body), "Cache-Control": "no-store", ...headers });
  res.end(body);
}

/** A JSON body, or BAD_REQUEST. */
function parseJson(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString("utf8"));
  } catch {
    throw new BadRequestError("the request body is not JSON");
  }
}

function json(res: ServerResponse, status: number, body: unknown, headers?: Record<string, string>): void {
  send(res, status, "application/json; charset=utf-8", JSON.stringify(body), headers);
}

/** Answers what the HTTP parser rejected (garbage, oversized headers, too slow) and hangs up. */
function refuse(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === "ECONNRESET" || !socket.writable) return void socket.destroy();
  const status =
    err.code === "HPE_HEADER_OVERFLOW"
      ? "431 Request Header Fields Too Large"
      : err.code === "ERR_HTTP_REQUEST_TIMEOUT"
        ? "408 Request Timeout"
        : "400 Bad Request";
  const body = JSON.stringify({ error: status.slice(4) });
  socket.end(`HTTP/1.1 ${status}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
}
