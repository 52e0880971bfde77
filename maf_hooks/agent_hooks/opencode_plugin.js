// maf-hooks for OpenCode: refuses an edit of a file another agent holds a lease on, at the moment
// the agent tries it. Installed by `maf init --agents opencode`; asks `maf agent-hook opencode`.
// Fails closed: when maf cannot run or answers something unexpected, the tool call is refused.
// MAF_COMMAND names another maf executable (default: `maf` on PATH).
import { spawnSync } from "node:child_process"

function ask(directory, document) {
  const command = process.env.MAF_COMMAND || "maf"
  const run = spawnSync(command, ["agent-hook", "opencode"], {
    cwd: directory,
    input: JSON.stringify(document),
    encoding: "utf8",
  })
  // EPIPE: the command ended without reading the request; its exit status still says why
  const unread = run.error?.code === "EPIPE" && run.status !== null
  if (run.error && !unread) throw new Error(`maf-hooks: cannot run ${command}: ${run.error.message}`)
  if (run.status !== 0) {
    throw new Error(`maf-hooks: ${command} agent-hook opencode failed (exit ${run.status}): ${run.stderr.trim()}`)
  }
  if (unread) throw new Error(`maf-hooks: ${command} did not read the request`)
  const out = run.stdout.trim()
  if (out === "") return null
  let reply
  try {
    reply = JSON.parse(out)
  } catch {
    throw new Error(`maf-hooks: ${command} answered no JSON: ${out.slice(0, 200)}`)
  }
  if (reply === null || typeof reply !== "object") throw new Error(`maf-hooks: unexpected answer: ${out.slice(0, 200)}`)
  return reply
}

export const MafHooks = async ({ directory }) => ({
  "tool.execute.before": async (input, output) => {
    const reply = ask(directory, {
      event: "tool.execute.before", tool: input.tool, args: output.args, sessionID: input.sessionID, directory,
    })
    if (reply === null) return
    if (reply.decision === "deny" && typeof reply.reason === "string") throw new Error(reply.reason)
    throw new Error(`maf-hooks: unexpected answer: ${JSON.stringify(reply).slice(0, 200)}`)
  },
  "shell.env": async (input, output) => {
    if (!input.sessionID) return // a terminal the user opened, no agent session
    const reply = ask(directory, { event: "shell.env", sessionID: input.sessionID, directory })
    if (reply === null) return
    if (reply.env === null || typeof reply.env !== "object") {
      throw new Error(`maf-hooks: unexpected answer: ${JSON.stringify(reply).slice(0, 200)}`)
    }
    Object.assign(output.env, reply.env)
  },
  event: async ({ event }) => {
    if (event.type !== "session.deleted") return
    const sessionID = event.properties?.sessionID ?? event.properties?.info?.id
    if (!sessionID) return
    try {
      ask(directory, { event: "session.deleted", sessionID, directory })
    } catch {
      // the session is gone; its auto-claims expire on their own
    }
  },
})
