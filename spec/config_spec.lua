local config = require "enkash.config"

local function env_of(map)
  return function(name) return map[name] end
end

describe("config", function()
  it("defaults to the bundled sandbox when nothing is configured", function()
    local cfg = assert(config.resolve{ getenv = env_of({}) })
    assert.equals("sandbox", cfg.env)
    assert.equals("http://127.0.0.1:8780", cfg.base_url)
    assert.equals("http://127.0.0.1:8780/oauth/token", cfg.auth_url)
    assert.equals("CRSANDBOX1", cfg.partner_id)
    assert.equals("auto", cfg.encryption)
    assert.equals(30, cfg.timeout)
    assert.equals(5, cfg.connect_timeout)
    assert.is_true(cfg.verify)
  end)

  it("reads fields left out from ENKASH_* variables, and given fields win", function()
    local cfg = assert(config.resolve{
      partner_id = "CRGIVEN", getenv = env_of({
        ENKASH_ENV = "uat", ENKASH_PARTNER_ID = "CRENV", ENKASH_CLIENT_ID = "CEKENV0001",
        ENKASH_CLIENT_SECRET = "s", ENKASH_USERNAME = "u", ENKASH_PASSWORD = "p",
        ENKASH_TIMEOUT = "12", ENKASH_ENCRYPTION = "true",
      }),
    })
    assert.equals("CRGIVEN", cfg.partner_id)
    assert.equals("CEKENV0001", cfg.client_id)
    assert.equals(12, cfg.timeout)
    assert.is_true(cfg.encryption)
    assert.equals("https://pay-en-uat.enkash.in", cfg.base_url)
    assert.equals("https://ekpayout-uat.enkash.in/oauth/token", cfg.auth_url)
  end)

  it("derives the sandbox auth URL from a given base_url", function()
    local cfg = assert(config.resolve{ env = "sandbox", base_url = "http://127.0.0.1:9/", getenv = env_of({}) })
    assert.equals("http://127.0.0.1:9", cfg.base_url)
    assert.equals("http://127.0.0.1:9/oauth/token", cfg.auth_url)
  end)

  it("has no guessed production host", function()
    local creds = { partner_id = "p", client_id = "c", client_secret = "s", username = "u", password = "w" }
    creds.env = "production"
    creds.getenv = env_of({})
    local cfg, err = config.resolve(creds)
    assert.is_nil(cfg)
    assert.equals("base_url", err.field)
    creds.base_url, creds.auth_url = "https://x.example", "https://y.example/oauth/token"
    assert.truthy(config.resolve(creds))
  end)

  it("requires env once credentials are given", function()
    local _, err = config.resolve{ client_secret = "s", getenv = env_of({}) }
    assert.equals("env", err.field)
  end)

  it("names the missing credential and its variable", function()
    local _, err = config.resolve{ env = "uat", partner_id = "p", getenv = env_of({}) }
    assert.equals("client_id", err.field)
    assert.matches("ENKASH_CLIENT_ID", err.message)
  end)

  it("refuses unknown options, wrong types and bad values", function()
    local _, err = config.resolve{ timeut = 3, getenv = env_of({}) }
    assert.equals("timeut", err.field)
    _, err = config.resolve{ timeout = "3", getenv = env_of({}) }
    assert.equals("timeout", err.field)
    _, err = config.resolve{ timeout = 0 / 0, getenv = env_of({}) }
    assert.equals("timeout", err.field)
    _, err = config.resolve{ encryption = "yes", getenv = env_of({}) }
    assert.equals("encryption", err.field)
    _, err = config.resolve{ env = "staging", getenv = env_of({}) }
    assert.equals("env", err.field)
  end)

  it("refuses reconciliation settings that would raise or loop after a money call was sent", function()
    for _, bad in ipairs({
      { max_sends = 0 / 0 }, { max_sends = 0 }, { reconcile_delay = -1 }, { pending_wait = 0 / 0 },
      { pending_interval = math.huge }, { not_found_pattern = "[" }, { duplicate_pattern = "%" },
      { error_patterns = { { "locked", "(" } } }, { error_patterns = { "locked" } },
      { status_words = { transaction = { pending = "CREATED" } } }, { status_words = { nope = {} } },
      { status_words = { transaction = { failed = { 1 } } } },
    }) do
      bad.getenv = env_of({})
      local k = next(bad)
      if k == "getenv" then k = next(bad, k) end
      local cfg, err = config.resolve(bad)
      assert.is_nil(cfg, k)
      assert.equals(k, err.field)
    end
  end)

  it("takes each bound and refuses one past it", function()
    local L = config.limits
    for _, case in ipairs({
      { "timeout", L.seconds, L.seconds + 0.001 }, { "deadline", L.seconds, L.seconds * 2 },
      { "retry_cap", 0, -0.001 }, { "retries", L.retries, L.retries + 1 },
      { "max_sends", L.max_sends, L.max_sends + 1 }, { "max_sends", 1, 0 },
      { "max_response_bytes", L.max_response_bytes, L.max_response_bytes + 1 },
      { "max_response_bytes", 1, 0.5 }, { "token_refresh_fraction", 0.99, 1 },
      { "user_agent", string.rep("u", L.text), string.rep("u", L.text + 1) },
      { "client_secret", "\0\r\n", "" },
    }) do
      local key, good, over = case[1], case[2], case[3]
      assert.truthy(config.resolve{ env = "sandbox", [key] = good, getenv = env_of({}) }, key .. " at its bound")
      local cfg, err = config.resolve{ env = "sandbox", [key] = over, getenv = env_of({}) }
      assert.is_nil(cfg, key .. " past its bound")
      assert.equals(key, err.field)
    end
  end)

  it("refuses an ENKASH_* number that does not read as one, naming the variable", function()
    local _, err = config.resolve{ getenv = env_of({ ENKASH_TIMEOUT = "abc" }) }
    assert.equals("timeout", err.field)
    assert.matches("ENKASH_TIMEOUT", err.message)
    assert.equals(16, assert(config.resolve{ getenv = env_of({ ENKASH_CONNECT_TIMEOUT = "0x10" }) }).connect_timeout)
  end)

  it("checks per-call options into a fresh copy", function()
    local given = { timeout = 2, retries = 0, deadline = 1.5, lookup_first = true }
    local o = assert(config.call_options(given))
    assert.are_not.equal(given, o)
    assert.same(given, o)
    assert.same({}, assert(config.call_options(nil)))
    local _, err = config.call_options({ retries = -1 })
    assert.equals("retries", err.field)
    _, err = config.call_options("x")
    assert.equals("opts", err.field)
  end)

  it("reads strict from ENKASH_STRICT, and refuses anything but true or false", function()
    assert.is_true(assert(config.resolve{ getenv = env_of({ ENKASH_STRICT = "true" }) }).strict)
    assert.is_false(assert(config.resolve{ getenv = env_of({}) }).strict)
    local _, err = config.resolve{ getenv = env_of({ ENKASH_STRICT = "yes" }) }
    assert.equals("strict", err.field)
  end)

  it("resolves status words: config replaces the sets it names, status_failed adds failed words", function()
    local cfg = assert(config.resolve{ getenv = env_of({}), status_failed = { VOIDED = true },
      status_words = { transaction = { pending = { "waiting" } } } })
    assert.is_true(cfg.words.transaction.pending.WAITING)
    assert.is_nil(cfg.words.transaction.pending.CREATED)
    assert.is_true(cfg.words.transaction.succeeded.SUCCESS)
    assert.is_true(cfg.words.settlement.failed.VOIDED)
  end)
end)
