import { createUpstreamSim } from './sim';

/**
 * Upstream simulators for local runs: VBMS at /vbms, VVA at /vva, BGS at /bgs, Lighthouse at
 * /lighthouse, notifications at /notify, Google (OAuth, Drive, Gmail) at /google, an
 * OpenAI-compatible chat-completions API at /openai/v1.
 */
async function main(): Promise<void> {
  const { app, state, google, lighthouse } = createUpstreamSim();
  // The Lighthouse client, registered as with Okta: its id and public key (PEM).
  if (process.env.SIM_LIGHTHOUSE_PUBLIC_KEY)
    lighthouse.registerClient(
      process.env.SIM_LIGHTHOUSE_CLIENT_ID ?? 'dev-client',
      process.env.SIM_LIGHTHOUSE_PUBLIC_KEY,
    );
  if (process.env.SIM_GMAIL_PUSH_URL)
    google.config.push = {
      url: process.env.SIM_GMAIL_PUSH_URL,
      // Pub/Sub authenticates each push with an identity token of the subscription's account.
      oidc: {
        serviceAccountEmail:
          process.env.SIM_GMAIL_PUSH_SERVICE_ACCOUNT ??
          'gmail-push@document-platform.iam.gserviceaccount.com',
        audience: process.env.SIM_GMAIL_PUSH_AUDIENCE,
      },
    };
  for (const fn of (process.env.SIM_RESTRICTED_FILE_NUMBERS ?? '').split(',').filter(Boolean))
    state.restricted.add(fn);
  const port = Number(process.env.SIM_PORT ?? 3200);
  await app.listen({ port, host: process.env.SIM_HOST ?? '127.0.0.1' });
  process.stdout.write(
    `${JSON.stringify({ level: 'info', service: 'upstream-sim', msg: `upstream simulators on ${port}` })}\n`,
  );
  const stop = () => void app.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

void main();
