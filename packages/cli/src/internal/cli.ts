import * as Args from "@effect/cli/Args"
import type * as CliApp from "@effect/cli/CliApp"
import * as Command from "@effect/cli/Command"
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as Options from "@effect/cli/Options"
import * as ValidationError from "@effect/cli/ValidationError"
import * as Cause from "effect/Cause"
import * as Console from "effect/Console"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as durations from "./duration.js"
import { CommandFailed } from "./errors.js"
import * as exitCode from "./exitCode.js"
import * as request from "./request.js"
import * as schedule from "./schedule.js"
import * as simulate from "./simulate.js"

/** @internal */
export const version = "0.1.0"

/** The longest finite `--timeout`/`--deadline`: what a timer can hold (2^31 − 1 ms), in whole hours. */
const maxTimerHours = Math.floor(request.maxTimerMillis / 3_600_000)

/** The longest `sturdy simulate --duration`: an hour of virtual time is already minutes of real time per policy. */
export const maxSimulationMillis = 3_600_000

const duration = (
  name: string,
  limit?: {
    readonly maxMillis: number
    readonly infinite: boolean
    readonly detail: string
    /** Zero is refused too (what the duration is for needs some time to pass). */
    readonly positive?: boolean
  }
): Options.Options<Duration.Duration> =>
  Options.text(name).pipe(
    Options.withPseudoName("DURATION"),
    Options.mapEffect((text) =>
      Either.match(durations.parse(text), {
        onLeft: (detail) => Effect.fail(ValidationError.invalidValue(HelpDoc.p(`--${name}: ${detail}`))),
        onRight: (parsed) => {
          if (limit === undefined) return Effect.succeed(parsed)
          const millis = Duration.toMillis(parsed)
          if (limit.positive === true && millis <= 0) {
            return Effect.fail(ValidationError.invalidValue(HelpDoc.p(`--${name} ${text}: must be longer than 0ms`)))
          }
          if (millis <= limit.maxMillis || (millis === Infinity && limit.infinite)) return Effect.succeed(parsed)
          return Effect.fail(ValidationError.invalidValue(HelpDoc.p(`--${name} ${text}: ${limit.detail}`)))
        }
      })
    )
  )

/** A time limit: at most what a timer can hold, or `none` (`infinity`) for no limit. */
const timeLimit = (name: string) =>
  duration(name, {
    maxMillis: request.maxTimerMillis,
    infinite: true,
    detail: `at most ${maxTimerHours}h (about 24.8 days, the longest a timer can hold); "none" for no limit`
  })

/**
 * Options that may be given several times and that `@effect/cli` would drop without a word when the last one has
 * no value (`Options.repeated` stops at a flag it cannot complete), per subcommand.
 */
const repeatedFlags: Readonly<Record<string, ReadonlyArray<string>>> = {
  ...Object.fromEntries(request.methods.map((method) => [method.toLowerCase(), ["--header", "-H"]])),
  simulate: ["--policy"]
}

/**
 * `option -H: requires a value` when argv ends with a repeatable option that has no value, or gives one an empty
 * value (`-H ""`), which `@effect/cli` would drop as silently.
 */
export const missingValue = (argv: ReadonlyArray<string>): string | undefined => {
  const flags = repeatedFlags[argv[0]]
  if (flags === undefined) return undefined
  for (let index = 1; index < argv.length; index++) {
    if (argv[index] === "--") return undefined
    if (flags.includes(argv[index])) {
      if (index === argv.length - 1 || argv[index + 1] === "") return `option ${argv[index]}: requires a value`
      // the next word is this option's value, whatever it looks like
      index++
    }
  }
  return undefined
}

// -----------------------------------------------------------------------------
// get | post | put | patch | delete | head
// -----------------------------------------------------------------------------

const requestOptions = {
  url: Args.text({ name: "url" }).pipe(Args.withDescription("The URL to request (http or https).")),
  header: Options.text("header").pipe(
    Options.withPseudoName("NAME:VALUE"),
    Options.withAlias("H"),
    Options.withDescription("A request header as NAME:VALUE; repeat for several."),
    Options.repeated
  ),
  data: Options.text("data").pipe(
    Options.withPseudoName("JSON"),
    Options.withAlias("d"),
    Options.withDescription("A JSON request body (sent as application/json)."),
    Options.optional
  ),
  schema: Options.text("schema").pipe(
    Options.withPseudoName("FILE"),
    Options.withDescription(
      "Validate the JSON body: a JSON Schema file (.json: type, properties, required, items, enum, const, anyOf...) " +
        "or a module (.ts/.js) whose default or `schema` export is an Effect Schema."
    ),
    Options.optional
  ),
  policy: Options.text("policy").pipe(
    Options.withPseudoName("NAME|FILE"),
    Options.withDescription(
      "The resilience pipeline: `standard` (3 attempts, 2s full-jitter backoff, attempt timeout 10s, deadline 30s, " +
        "retry budget, circuit breaker), `none` (one attempt, no limits) or a JSON file with the pipeline options."
    ),
    Options.withDefault("standard")
  ),
  retries: Options.integer("retries").pipe(
    Options.mapEffect((retries) =>
      retries >= 0
        ? Effect.succeed(retries)
        : Effect.fail(ValidationError.invalidValue(HelpDoc.p(`--retries ${retries}: must be 0 or more`)))
    ),
    Options.withDescription("Retries after the first attempt (0 turns retrying off; above 9 only under a deadline)."),
    Options.optional
  ),
  timeout: timeLimit("timeout").pipe(
    Options.withDescription("Time limit of each attempt, e.g. 500ms, 2s, 1m; none for no limit."),
    Options.optional
  ),
  deadline: timeLimit("deadline").pipe(
    Options.withDescription("Time limit of the whole call, retries and waits included, e.g. 10s; none for no limit."),
    Options.optional
  ),
  connectTimeout: timeLimit("connect-timeout").pipe(
    Options.withDescription(
      "Time limit of opening each connection (TCP and TLS), as curl's: a connection that takes longer is a " +
        "ConnectionError (ConnectTimeout), retried even for a POST. Default 5s; none for no limit."
    ),
    Options.optional
  ),
  cacert: Options.text("cacert").pipe(
    Options.withPseudoName("FILE"),
    Options.withDescription(
      "Trust the CA certificates of FILE (PEM) instead of the system's, as curl's --cacert: an internal CA."
    ),
    Options.optional
  ),
  cert: Options.text("cert").pipe(
    Options.withPseudoName("FILE"),
    Options.withDescription(
      "Present the client certificate of FILE (PEM) to a server that asks for one (mTLS); needs --key."
    ),
    Options.optional
  ),
  key: Options.text("key").pipe(
    Options.withPseudoName("FILE"),
    Options.withDescription("The private key of --cert (PEM, not encrypted)."),
    Options.optional
  ),
  insecure: Options.boolean("insecure").pipe(
    Options.withAlias("k"),
    Options.withDescription(
      "Accept a server certificate that does not verify (self-signed, expired, another host's), as curl's -k. " +
        "Anyone on the path can then read and change the traffic: for a local test server only."
    )
  ),
  http2: Options.boolean("http2").pipe(
    Options.withDescription(
      "Offer HTTP/2 by ALPN over TLS (HTTP/1.1 where the server does not pick it; http: stays 1.1)."
    )
  ),
  http2PriorKnowledge: Options.boolean("http2-prior-knowledge").pipe(
    Options.withDescription("Speak HTTP/2 with prior knowledge to http: URLs (h2c, no upgrade), and offer it over TLS.")
  ),
  proxy: Options.text("proxy").pipe(
    Options.withPseudoName("URL"),
    Options.withAlias("x"),
    Options.withDescription(
      "Send the request through this forward proxy (http://host:port or https://host:port, by a CONNECT tunnel; " +
        "socks5h://host:port, the host name resolved by the proxy, or socks5://host:port, resolved here; no scheme " +
        "means http://), as curl's -x. Without it the proxy is the environment's (HTTPS_PROXY for https: URLs, " +
        "HTTP_PROXY, then ALL_PROXY, either case), as in curl; \"\" for none. Prefer credentials in the " +
        "environment's variable to the command line, which shell history and ps show."
    ),
    Options.optional
  ),
  socks5: Options.text("socks5").pipe(
    Options.withPseudoName("HOST[:PORT]"),
    Options.withDescription(
      "Send the request through this SOCKS5 proxy, the host name resolved here (as -x socks5://HOST[:PORT]; port " +
        "1080 by default), as curl's --socks5."
    ),
    Options.optional
  ),
  socks5Hostname: Options.text("socks5-hostname").pipe(
    Options.withPseudoName("HOST[:PORT]"),
    Options.withDescription(
      "Send the request through this SOCKS5 proxy, the host name resolved by the proxy (as -x " +
        "socks5h://HOST[:PORT]), as curl's --socks5-hostname."
    ),
    Options.optional
  ),
  proxyForward: Options.boolean("proxy-forward").pipe(
    Options.withDescription(
      "Send http: URLs to the HTTP proxy as absolute-form requests instead of a CONNECT tunnel (what curl does " +
        "without -p; sturdy tunnels by default), for a proxy that allows CONNECT to port 443 only. https: URLs " +
        "still tunnel."
    )
  ),
  noproxy: Options.text("noproxy").pipe(
    Options.withPseudoName("LIST"),
    Options.withDescription(
      "Hosts reached without the proxy, instead of NO_PROXY: comma-separated names (each with its subdomains), " +
        ".suffixes, host:port, IP addresses, or * for all."
    ),
    Options.optional
  ),
  unixSocket: Options.text("unix-socket").pipe(
    Options.withPseudoName("PATH"),
    Options.withDescription(
      "Connect to this Unix domain socket (a Docker-style API) instead of the URL's host, which is still the Host " +
        "header; no proxy."
    ),
    Options.optional
  ),
  compressed: Options.boolean("compressed").pipe(
    Options.withDescription(
      "Ask for a compressed response (Accept-Encoding: gzip, deflate, br, unless -H sets one) and decode it, as " +
        "curl's --compressed; the body's size limit then counts the decoded bytes."
    )
  ),
  json: Options.boolean("json").pipe(
    Options.withDescription("Print a JSON result (status, attempts, timing, body) to stdout instead of the body.")
  )
}

const requestCommand = (method: request.Method) =>
  Command.make(
    method.toLowerCase(),
    requestOptions,
    (args) =>
      request.run({
        method,
        url: args.url,
        headers: args.header,
        data: args.data,
        schema: args.schema,
        policy: args.policy,
        retries: args.retries,
        timeout: args.timeout,
        deadline: args.deadline,
        connectTimeout: args.connectTimeout,
        cacert: args.cacert,
        cert: args.cert,
        key: args.key,
        insecure: args.insecure,
        http2: args.http2,
        http2PriorKnowledge: args.http2PriorKnowledge,
        proxy: args.proxy,
        socks5: args.socks5,
        socks5Hostname: args.socks5Hostname,
        proxyForward: args.proxyForward,
        noproxy: args.noproxy,
        unixSocket: args.unixSocket,
        compressed: args.compressed,
        json: args.json
      })
  ).pipe(
    Command.withDescription(
      `Send a ${method} request through the policy: the attempts' timeline goes to stderr, the body to stdout, ` +
        "and the exit code tells the kind of failure (see the README)."
    )
  )

// -----------------------------------------------------------------------------
// schedule
// -----------------------------------------------------------------------------

const scheduleCommand = Command.make(
  "schedule",
  {
    baseDelay: duration("base-delay").pipe(
      Options.withDescription("The first retry's delay envelope (default 100ms)."),
      Options.withDefault(durations.parse("100ms").pipe(Either.getOrThrow))
    ),
    factor: Options.float("factor").pipe(
      Options.withDescription("Growth of the envelope per retry (≥ 1, default 2)."),
      Options.withDefault(2)
    ),
    maxDelay: duration("max-delay").pipe(
      Options.withDescription("Upper bound of any single delay (default 10s)."),
      Options.withDefault(durations.parse("10s").pipe(Either.getOrThrow))
    ),
    jitter: Options.choice("jitter", ["none", "full", "equal", "decorrelated"]).pipe(
      Options.withDescription("How the delay is randomised within its envelope (default full)."),
      Options.withDefault("full" as const)
    ),
    attempts: Options.integer("attempts").pipe(
      Options.withDescription("Attempts in all, the first included (default 6)."),
      Options.withDefault(6)
    ),
    seed: Options.integer("seed").pipe(
      Options.withDescription("The first random seed (alone: show that one sequence)."),
      Options.optional
    ),
    seeds: Options.integer("seeds").pipe(
      Options.withDescription("How many seeds to summarise (default 1000, or 1 with --seed)."),
      Options.optional
    ),
    plot: Options.text("plot").pipe(
      Options.withPseudoName("FILE"),
      Options.withDescription("Also write the min/median/max plot as an SVG file."),
      Options.optional
    )
  },
  schedule.run
).pipe(
  Command.withDescription("Show the delays of an exponential backoff: min, median and max over seeds per retry.")
)

// -----------------------------------------------------------------------------
// simulate | scenarios
// -----------------------------------------------------------------------------

const simulateCommand = Command.make(
  "simulate",
  {
    scenario: Options.text("scenario").pipe(
      Options.withPseudoName("NAME"),
      Options.withDescription("A built-in scenario (see `sturdy scenarios`), or `list`.")
    ),
    policies: Options.text("policy").pipe(
      Options.withPseudoName("NAME"),
      Options.withDescription("A policy to compare (noRetry, naiveLoop, urllib3, sturdy); repeat; default all."),
      Options.repeated
    ),
    seed: Options.integer("seed").pipe(Options.withDescription("The random seed (default 1)."), Options.withDefault(1)),
    duration: duration("duration", {
      maxMillis: maxSimulationMillis,
      infinite: false,
      positive: true,
      detail: "at most 1h of virtual time (a simulation runs until its calls stop arriving)"
    }).pipe(
      Options.withDescription(
        "Override how long calls keep arriving (virtual time, at most 1h), e.g. 5s for a quick run."
      ),
      Options.optional
    )
  },
  simulate.run
).pipe(
  Command.withDescription(
    "Simulate many clients calling a modelled upstream through each policy, in virtual time, and compare goodput, " +
      "success rate, amplification, latency and recovery."
  )
)

const scenariosCommand = Command.make("scenarios", {}, () => simulate.list).pipe(
  Command.withDescription("List the built-in simulation scenarios and policies.")
)

// -----------------------------------------------------------------------------
// root
// -----------------------------------------------------------------------------

/** @internal */
export const command = Command.make("sturdy").pipe(
  Command.withDescription("Resilient HTTP requests from the command line, backoff tables and policy simulations."),
  Command.withSubcommands([
    requestCommand("GET"),
    requestCommand("POST"),
    requestCommand("PUT"),
    requestCommand("PATCH"),
    requestCommand("DELETE"),
    requestCommand("HEAD"),
    scheduleCommand,
    simulateCommand,
    scenariosCommand
  ])
)

const cliApp = Command.run(command, { name: "sturdy", version })

/** @internal */
export const run = (argv: ReadonlyArray<string>): Effect.Effect<number, never, CliApp.CliApp.Environment> =>
  Effect.suspend(() => {
    const missing = missingValue(argv)
    return missing === undefined
      ? cliApp(["node", "sturdy", ...argv])
      : Effect.fail(new CommandFailed({ code: exitCode.codes.Usage, detail: missing }))
  }).pipe(
    Effect.as(exitCode.codes.Ok),
    Effect.catchAll((error) => {
      if (error instanceof CommandFailed) {
        return error.detail === undefined
          ? Effect.succeed(error.code)
          : Effect.as(Console.error(`sturdy: ${error.detail}`), error.code)
      }
      // @effect/cli has already printed what was wrong with the command line
      return Effect.succeed(exitCode.codes.Usage)
    }),
    Effect.catchAllCause((cause) =>
      Effect.as(
        Console.error(`sturdy: internal error (please report it):\n${Cause.pretty(cause)}`),
        exitCode.codes.Internal
      )
    )
  )
