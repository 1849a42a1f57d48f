import { ApiKeys, type ApiTokenInfo, ApiTokenStore, DEFAULT_SCOPES, SCOPES } from "@wgp-farm/api";
import { addOptions, option } from "@wgp-farm/config";
import type { FarmConnection } from "@wgp-farm/queue";
import type { Command } from "commander";
import { z } from "zod";
import { CliError, ExitCode } from "../exit-codes.js";
import { FARM_COMMAND_OPTIONS, withFarm } from "../farm-command.js";
import { formatTable, printJson } from "../output/format.js";

const CREATE_OPTIONS = {
  name: option({
    flag: "--name",
    takes: "name",
    description: "who or what the token is for (shown by token ls)",
    schema: z.string().min(1),
    required: true,
  }),
  scope: option({
    flag: "--scope",
    takes: "scope...",
    description: `what the token may do: ${SCOPES.join(", ")}`,
    schema: z.array(z.string().min(1)),
    default: [...DEFAULT_SCOPES],
    defaultText: DEFAULT_SCOPES.join(" "),
  }),
  ...FARM_COMMAND_OPTIONS,
};

function storeOf(farm: FarmConnection): ApiTokenStore {
  return new ApiTokenStore(farm.redis, new ApiKeys(farm.keys.prefix));
}

function formatTokens(tokens: readonly ApiTokenInfo[]): string {
  if (tokens.length === 0) return "No API tokens.";
  return formatTable(
    ["ID", "NAME", "SCOPES", "CREATED", "REVOKED"],
    tokens.map((token) => [
      token.id,
      token.name,
      token.scopes.join(","),
      token.created_at,
      token.revoked_at ?? "-",
    ]),
  );
}

export function registerToken(program: Command): void {
  const token = program.command("token").description("manage the HTTP API's tokens (stored hashed in Redis)");

  const create = token.command("create").description("make a token; it is printed once and never stored");
  const readCreateOptions = addOptions(create, CREATE_OPTIONS);
  create.action(async () => {
    const settings = readCreateOptions();
    const made = await withFarm(settings, (farm) => storeOf(farm).create(settings.name, settings.scope));
    if (settings.json) printJson({ token: made.token, ...made.info });
    else
      process.stdout.write(
        `${made.token}\n(token ${made.info.id}, scopes ${made.info.scopes.join(", ")}; keep it: it is not shown again)\n`,
      );
  });

  const list = token.command("ls").description("list tokens (ids, names, scopes; never the secrets)");
  const readListOptions = addOptions(list, FARM_COMMAND_OPTIONS);
  list.action(async () => {
    const settings = readListOptions();
    const tokens = await withFarm(settings, (farm) => storeOf(farm).list());
    if (settings.json) printJson(tokens);
    else process.stdout.write(`${formatTokens(tokens)}\n`);
  });

  const revoke = token
    .command("revoke")
    .description("revoke a token at once (its record stays)")
    .argument("<id>", "the token's id (token ls)");
  const readRevokeOptions = addOptions(revoke, FARM_COMMAND_OPTIONS);
  revoke.action(async (id: string) => {
    const settings = readRevokeOptions();
    const known = await withFarm(settings, (farm) => storeOf(farm).revoke(id));
    if (!known) throw new CliError(`unknown token id '${id}' (see wgp-farm token ls)`, ExitCode.failed);
    if (settings.json) printJson({ id, revoked: true });
    else process.stdout.write(`revoked      ${id}\n`);
  });
}
