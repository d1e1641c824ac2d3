/**
 * The access-control flags every command takes (`--token-file`, `--tls-cert`,
 * `--tls-key`, `--tls-ca`), added to each command in one place, and applied
 * before the command runs: the process's channels and servers then carry and
 * check the token (src/protocol/security.ts). A command that binds a server
 * (it has `--host`) refuses an address other than loopback without a token.
 */
import type { Command } from 'commander';
import { createLogger } from '../common/logger.js';
import { configureSecurity } from '../protocol/security.js';
import { checkBindAllowed, loadSecurity, type SecurityFlags } from '../protocol/security-files.js';

/** Adds the flags to every command that runs something (the leaves of the tree). */
export function addSecurityOptions(program: Command): void {
  const visit = (cmd: Command): void => {
    if (cmd.commands.length > 0) {
      for (const sub of cmd.commands) visit(sub);
      return;
    }
    cmd
      .option('--token-file <path>', 'the cluster token: every call carries it and every server requires it (or LAMINATE_TOKEN_FILE)')
      .option('--tls-cert <path>', 'PEM certificate this process serves with (TLS), with --tls-key (or LAMINATE_TLS_CERT)')
      .option('--tls-key <path>', 'PEM private key of --tls-cert (or LAMINATE_TLS_KEY)')
      .option('--tls-ca <path>', 'PEM CA certificate to trust when connecting (TLS); without it, --tls-cert is trusted (or LAMINATE_TLS_CA)');
  };
  for (const cmd of program.commands) visit(cmd);
  program.hook('preAction', async (_program, action) => {
    const o = action.opts<SecurityFlags & { host?: string }>();
    // A flag wins over its environment variable (for service managers that set one environment for every process).
    const pick = (flag: string | undefined, env: string): string | undefined => {
      const v = flag ?? process.env[env];
      return v === undefined || v === '' ? undefined : v;
    };
    const tokenFile = pick(o.tokenFile, 'LAMINATE_TOKEN_FILE');
    const tlsCert = pick(o.tlsCert, 'LAMINATE_TLS_CERT');
    const tlsKey = pick(o.tlsKey, 'LAMINATE_TLS_KEY');
    const tlsCa = pick(o.tlsCa, 'LAMINATE_TLS_CA');
    const flags: SecurityFlags = {
      ...(tokenFile !== undefined ? { tokenFile } : {}),
      ...(tlsCert !== undefined ? { tlsCert } : {}),
      ...(tlsKey !== undefined ? { tlsKey } : {}),
      ...(tlsCa !== undefined ? { tlsCa } : {}),
    };
    const { config, tokenWorldReadable } = await loadSecurity(flags);
    const log = createLogger().child({ component: 'security' });
    if (tokenWorldReadable) log.warn({ tokenFile: flags.tokenFile }, 'the token file can be read by group or others: chmod 600 it');
    if (typeof o.host === 'string') checkBindAllowed(o.host, config);
    configureSecurity({ ...config, log });
  });
}
