-- luarocks make rockspec/enkash-scm-1.rockspec   (from the checkout's top directory)
-- Debian: lua-cjson comes from the Debian package; pass --deps-mode=none when it is installed
-- that way, since luarocks does not see Debian's Lua packages.
rockspec_format = "3.0"
package = "enkash"
version = "scm-1"
source = { url = "git+file:///dev/null" } -- `luarocks make` builds the checkout it runs in
description = {
  summary = "Enkash Wallet partner APIs for Lua 5.4 and OpenResty (LuaJIT), with a C core",
  detailed = [[
    Device binding, auth tokens, encrypted payloads (AES-128-ECB as Enkash documents it),
    a request pipeline that validates before any I/O, libcurl keep-alive transport,
    and a stateful sandbox that behaves like Enkash on loopback.]],
  license = "Proprietary",
}
dependencies = { "lua >= 5.1", "lua-cjson" }
external_dependencies = {
  CURL = { library = "curl" }, -- by library: Debian keeps curl.h under a multiarch dir
  OPENSSL = { header = "openssl/evp.h" },
}
build = {
  type = "builtin",
  modules = {
    ["enkash.core"] = {
      sources = { "csrc/clock.c", "csrc/core.c", "csrc/crypto.c", "csrc/http.c", "csrc/http_common.c", "csrc/journal.c", "csrc/multi.c", "csrc/token.c" },
      libraries = { "curl", "ssl", "crypto" },
      incdirs = { "$(CURL_INCDIR)", "$(OPENSSL_INCDIR)" },
      libdirs = { "$(CURL_LIBDIR)", "$(OPENSSL_LIBDIR)" },
    },
    ["enkash"] = "lua/enkash/init.lua",
    ["enkash.assumptions"] = "lua/enkash/assumptions.lua",
    ["enkash.auth"] = "lua/enkash/auth.lua",
    ["enkash.batch"] = "lua/enkash/batch.lua",
    ["enkash.catalogue"] = "lua/enkash/catalogue.lua",
    ["enkash.client"] = "lua/enkash/client.lua",
    ["enkash.config"] = "lua/enkash/config.lua",
    ["enkash.envelope"] = "lua/enkash/envelope.lua",
    ["enkash.errors"] = "lua/enkash/errors.lua",
    ["enkash.log"] = "lua/enkash/log.lua",
    ["enkash.json"] = "lua/enkash/json.lua",
    ["enkash.money"] = "lua/enkash/money.lua",
    ["enkash.onboarding"] = "lua/enkash/onboarding.lua",
    ["enkash.pipeline"] = "lua/enkash/pipeline.lua",
    ["enkash.reconcile"] = "lua/enkash/reconcile.lua",
    ["enkash.runbook"] = "lua/enkash/runbook.lua",
    ["enkash.runbook.store"] = "lua/enkash/runbook/store.lua",
    ["enkash.retry"] = "lua/enkash/retry.lua",
    ["enkash.url"] = "lua/enkash/url.lua",
    ["enkash.redact"] = "lua/enkash/redact.lua",
    ["enkash.validate"] = "lua/enkash/validate.lua",
    ["enkash.webhook"] = "lua/enkash/webhook.lua",
    ["enkash.webhook.dedupe"] = "lua/enkash/webhook/dedupe.lua",
    ["enkash.statuses"] = "lua/enkash/statuses.lua",
    ["enkash.transport.curl"] = "lua/enkash/transport/curl.lua",
    ["enkash.transport.dry_run"] = "lua/enkash/transport/dry_run.lua",
    ["enkash.transport.sandbox"] = "lua/enkash/transport/sandbox.lua",
    ["enkash.sandbox"] = "lua/enkash/sandbox/init.lua",
    ["enkash.sandbox.auth"] = "lua/enkash/sandbox/auth.lua",
    ["enkash.sandbox.control"] = "lua/enkash/sandbox/control.lua",
    ["enkash.sandbox.device"] = "lua/enkash/sandbox/device.lua",
    ["enkash.sandbox.faults"] = "lua/enkash/sandbox/faults.lua",
    ["enkash.sandbox.http"] = "lua/enkash/sandbox/http.lua",
    ["enkash.sandbox.state"] = "lua/enkash/sandbox/state.lua",
    ["enkash.sandbox.books"] = "lua/enkash/sandbox/books.lua",
    ["enkash.sandbox.clock"] = "lua/enkash/sandbox/clock.lua",
    ["enkash.sandbox.fields"] = "lua/enkash/sandbox/fields.lua",
    ["enkash.sandbox.ids"] = "lua/enkash/sandbox/ids.lua",
    ["enkash.sandbox.ledger"] = "lua/enkash/sandbox/ledger.lua",
    ["enkash.sandbox.limits"] = "lua/enkash/sandbox/limits.lua",
    ["enkash.sandbox.loads"] = "lua/enkash/sandbox/loads.lua",
    ["enkash.sandbox.merchant"] = "lua/enkash/sandbox/merchant.lua",
    ["enkash.sandbox.notify"] = "lua/enkash/sandbox/notify.lua",
    ["enkash.sandbox.ngx_sender"] = "lua/enkash/sandbox/ngx_sender.lua",
    ["enkash.sandbox.options"] = "lua/enkash/sandbox/options.lua",
    ["enkash.sandbox.otp"] = "lua/enkash/sandbox/otp.lua",
    ["enkash.sandbox.steps"] = "lua/enkash/sandbox/steps.lua",
    ["enkash.sandbox.transfers"] = "lua/enkash/sandbox/transfers.lua",
    ["enkash.sandbox.vkyc"] = "lua/enkash/sandbox/vkyc.lua",
    ["enkash.sandbox.wallet"] = "lua/enkash/sandbox/wallet.lua",
    ["enkash.sandbox.nginx"] = "lua/enkash/sandbox/nginx.lua",
    ["enkash.sandbox.ngx_handler"] = "lua/enkash/sandbox/ngx_handler.lua",
    ["enkash.cli.args"] = "lua/enkash/cli/args.lua",
    ["enkash.cli.call"] = "lua/enkash/cli/call.lua",
    ["enkash.cli.crypt"] = "lua/enkash/cli/crypt.lua",
    ["enkash.cli.csv"] = "lua/enkash/cli/csv.lua",
    ["enkash.cli.demo"] = "lua/enkash/cli/demo.lua",
    ["enkash.cli.progress"] = "lua/enkash/cli/progress.lua",
    ["enkash.cli.run"] = "lua/enkash/cli/run.lua",
    ["enkash.cli.session"] = "lua/enkash/cli/session.lua",
    ["enkash.cli.sandbox"] = "lua/enkash/cli/sandbox.lua",
  },
  install = { bin = { enkash = "bin/enkash" } },
}
