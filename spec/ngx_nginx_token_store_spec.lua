-- enkash.auth.shared_dict over a stand-in for a lua_shared_dict and nginx's clock (plain Lua:
-- the store touches `ngx` only when called), for what real nginx shows only by chance:
-- - a fetch that fails while another worker is between its look for a failure and taking
--   the lock is not tried again by that worker (refused credentials: once, not twice);
-- - the record read last is kept parsed, yet a token another worker stores is the one given
--   (and masked) at once, and an expired or evicted one is not.
-- The store inside real nginx, across workers: spec/ngx_nginx_concurrency_spec.lua.
local redact = require "enkash.redact"

local saved_ngx
local shared_dict
local clock

-- A lua_shared_dict's methods over a table; `on_add`, when set, runs before an add (another
-- worker acting at that moment).
local function fake_dict()
  local d = { data = {}, on_add = nil }
  function d.get(self, k) return self.data[k] end
  function d.set(self, k, v) self.data[k] = v return true end
  function d.delete(self, k) self.data[k] = nil end
  function d.incr(self, k, n, init)
    self.data[k] = (self.data[k] or init) + n
    return self.data[k]
  end
  function d.add(self, k, v)
    local hook = self.on_add
    self.on_add = nil
    if hook then hook() end
    if self.data[k] ~= nil then return false, "exists" end
    self.data[k] = v
    return true
  end
  return d
end

setup(function()
  saved_ngx = rawget(_G, "ngx")
  clock = 1000
  _G.ngx = {
    now = function() return clock end, sleep = function(s) clock = clock + s end,
    get_phase = function() return "content" end, worker = { pid = function() return 7 end },
    log = function() end, WARN = 5, shared = {},
  }
  package.loaded["enkash.auth.shared_dict"] = nil
  shared_dict = require "enkash.auth.shared_dict"
end)

teardown(function()
  _G.ngx = saved_ngx
end)

local CFG = { auth_url = "http://127.0.0.1:1/oauth/token", client_id = "CEKTEST001", username = "6000000099",
              timeout = 1, connect_timeout = 1 }

describe("enkash.auth.shared_dict", function()
  it("does not fetch again after a fetch failed between its look for a failure and its lock", function()
    local dict = fake_dict()
    local a = shared_dict.new(dict, CFG) -- two workers' stores over one dict
    local b = shared_dict.new(dict, CFG)
    assert.is_true(a:lock(0)) -- worker A fetches
    -- worker B has looked for a failure (none yet) and is about to take the lock when A's
    -- fetch fails and A lets go
    dict.on_add = function()
      a:unlock({ kind = "auth", http_status = 401, message = "credentials refused" })
    end
    local got, err = b:lock(0)
    assert.is_nil(got)
    assert.equal("auth", err.kind)
    assert.equal(401, err.http_status)
    assert.is_nil(dict.data[a.key_lock], "B let the lock go")
  end)

  it("gives the token another worker stored at once, masked, and none past its life", function()
    local dict = fake_dict()
    local mine = shared_dict.new(dict, CFG)
    local other = shared_dict.new(dict, CFG)
    local tokens = { "tokA1b2C3d4E5f6G7h8", "tokZ9y8X7w6V5u4T3s2", "tokQ1w2E3r4T5y6U7i8" }
    for i, token in ipairs(tokens) do
      local setter = i % 2 == 1 and other or mine
      setter:set(token, 60)
      for _ = 1, 3 do assert.equal(token, mine:get(10)) end
      assert.is_nil(redact.text("echo " .. token):find(token, 1, true), "masked: " .. token)
      assert.same({ present = true, expires_in = 60, lifetime = 60 }, mine:info())
    end
    clock = clock + 55
    assert.is_nil(mine:get(10)) -- within the margin
    assert.equal(tokens[3], mine:get(0))
    clock = clock + 6
    dict.data[mine.key] = nil -- the dict let it go at its ttl
    assert.is_nil(mine:get(0))
    assert.same({ present = false }, mine:info())
  end)
end)
