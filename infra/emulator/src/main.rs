//! `sf-emulator`: serves emulated Salesforce orgs on 127.0.0.1 (see `--help`).

use clap::Parser;
use sf_emulator::{Emulator, EmulatorOptions};
use std::path::PathBuf;
use std::time::Duration;

const ABOUT: &str = "Salesforce org emulator for crmsync tests and local runs.

Serves the OAuth login host, identity URLs, the REST data API (query/queryAll/query-more,
sObject rows, upsert, sObject Collections, Composite, getUpdated/getDeleted, describe,
limits) and a test admin API, all on 127.0.0.1.";

const AFTER: &str = "\
ORGS AND LOGIN
  Without --seed-file, one demo org is served (alias `demo`, a few hundred generated users,
  accounts, contacts, leads and opportunities from a fixed RNG seed).
  Demo credentials: user admin@demo.example / password demo; connected app client id
  crmsync-demo, secret demo-secret. Authorize auto-approves for the demo org.
  Login host of an org: {base}/orgs/{alias}/services/oauth2/{authorize,token,revoke,userinfo};
  the first org is also served at {base}/services/oauth2/... . Every org's instance_url is
  {base}; data calls are routed by the access token. Token grants: authorization_code (PKCE
  S256), refresh_token (rotation per org), password. SOAP (partner): POST
  {base}/services/Soap/u/62.0 serves login and convertLead (SessionHeader = access token).

SEEDING (--seed-file FILE, JSON if it ends in .json, else YAML; full example in
         infra/emulator/seeds/example.yaml)
  orgs:
    - alias: acme                    # login host /orgs/acme
      name: Acme Corp
      isSandbox: false
      dailyApiLimit: 15000
      rotateRefreshTokens: true
      autoApprove: true
      clientId: acme-app
      clientSecret: acme-secret
      users: [{username: admin@acme.example, password: pw, firstName: Ada, lastName: Admin}]
      customObjects: [{name: Invoice__c, keyPrefix: a01, fields: [{name: Total__c, type: currency}]}]
      customFields: {Contact: [{name: Ext_Id__c, type: string, length: 40, externalId: true, unique: true}]}
      validationRules: [{object: Opportunity, name: Range, field: Amount, min: 0, max: 10000, message: Too big}]
      duplicateRules: [{object: Lead, name: ByEmail, fields: [Email]}]
      records: {Account: [{Name: Acme}]}
      demoData: false                # true = also generate the demo data set

ADMIN API (no auth; JSON bodies)
  GET    /__admin/orgs                                  list orgs (alias, orgId, loginUrl)
  GET    /__admin/clock                                 current emulated time
  POST   /__admin/clock/advance      {\"seconds\":3600}
  POST   /__admin/clock/set          {\"now\":\"2026-01-01T00:00:00Z\"}   (time keeps running)
  POST   /__admin/clock/freeze       {\"now\":\"2026-01-01T00:00:00Z\"}   (time stands still)
  GET|PUT|DELETE /__admin/orgs/{alias}/faults           see FAULTS
  POST   /__admin/orgs/{alias}/revoke-tokens            invalidate all tokens of the org
  POST   /__admin/orgs/{alias}/limit/exhaust            next data call -> 403 REQUEST_LIMIT_EXCEEDED
  PUT    /__admin/orgs/{alias}/settings  {\"dailyApiLimit\":N,\"apiUsed\":N,\"rotateRefreshTokens\":b,
                                          \"autoApprove\":b,\"changeIdLimit\":N,
                                          \"limitHeader\":\"usageOnly\"|\"withBursts\",
                                          \"appQuota\":{\"appName\":s,\"max\":N}}
  GET    /__admin/orgs/{alias}/usage                    {used,max,appUsed,appMax,counters{endpoint:n}}
  DELETE /__admin/orgs/{alias}/usage                    reset counters and usage
  POST   /__admin/orgs/{alias}/users     {\"username\",\"password\",\"email\",\"firstName\",\"lastName\"}
  POST   /__admin/orgs/{alias}/tokens    {\"username\"}  mint access+refresh tokens
  POST   /__admin/orgs/{alias}/records/{Object}          insert (no validation, not counted)
  GET|PATCH|DELETE /__admin/orgs/{alias}/records/{Object}/{Id}
  POST   /__admin/orgs/{alias}/records/{Object}/{Id}/touch   system write: SystemModstamp only
  POST   /__admin/orgs/{alias}/commit-late/{Object}  {\"id\"?,\"fields\",\"systemModstamp\"}
         write now but stamp an older SystemModstamp (a late-committing transaction)
  POST   /__admin/orgs/{alias}/validation-rules  {object,name,field,min,max,message}
  POST   /__admin/orgs/{alias}/duplicate-rules   {object,name,fields}

FAULTS (PUT /__admin/orgs/{alias}/faults; apply to /services/data only)
  {\"latencyMs\":200, \"errorRate\":0.1, \"errorStatus\":503, \"lockRowRate\":0.2, \"force401\":false}
  errorRate answers errorStatus (500 UNKNOWN_EXCEPTION or 503 SERVER_UNAVAILABLE);
  lockRowRate answers writes with 400 UNABLE_TO_LOCK_ROW; force401 answers 401 INVALID_SESSION_ID.";

#[derive(Parser, Debug)]
#[command(name = "sf-emulator", version, about = ABOUT, after_long_help = AFTER, after_help = AFTER)]
struct Args {
    /// Port on 127.0.0.1 (0 = any free port; the chosen URL is printed).
    #[arg(long, env = "SF_EMULATOR_PORT", default_value_t = 8085)]
    port: u16,
    /// Orgs to host, from a JSON or YAML seed file (replaces the demo org).
    #[arg(long)]
    seed_file: Option<PathBuf>,
    /// Access token lifetime in seconds (Salesforce's default session is 2 hours).
    #[arg(long, default_value_t = 7200)]
    token_ttl_secs: u64,
    /// RNG seed for injected faults.
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let args = Args::parse();
    let opts = match &args.seed_file {
        Some(path) => match EmulatorOptions::empty().with_seed_file(path) {
            Ok(o) => o,
            Err(e) => {
                eprintln!("sf-emulator: {e}");
                std::process::exit(2);
            }
        },
        None => EmulatorOptions::demo(),
    }
    .access_token_ttl(Duration::from_secs(args.token_ttl_secs))
    .seed(args.seed)
    .port(args.port);
    let emu = match Emulator::start(opts).await {
        Ok(e) => e,
        Err(e) => {
            eprintln!("sf-emulator: {e}");
            std::process::exit(1);
        }
    };
    println!("sf-emulator listening on {}", emu.base_url());
    for alias in emu.admin().org_aliases() {
        println!("  org {alias}: login {}", emu.login_url(&alias));
    }
    let _ = tokio::signal::ctrl_c().await;
    emu.shutdown().await;
}
