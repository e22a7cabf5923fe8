-- The sandbox's ledger under randomized traffic: seeded sequences of loads, top-ups, IMPS and
-- wallet-to-wallet transfers, OTP debits, refunds, reversals, duplicates and bad amounts.
-- After each sequence: the ledger total is unchanged, no wallet or partner account is
-- negative, every reference was applied at most once, each wallet's balance (as the API
-- answers it) equals the sum of its ledger entries, and the external accounts hold exactly
-- what the accepted calls moved. Lua 5.4 and LuaJIT.
local sandbox = require "enkash.sandbox"
local catalogue = require "enkash.catalogue"
local ledger = require "enkash.sandbox.ledger"
local money = require "enkash.money"
local core = require "enkash.core"
local cjson = require "cjson.safe"

local D = sandbox.defaults
local USER, PASS = next(D.users)
local ACC = "CACSANDBOX1"
local SEEDS, OPS = 20, 300

local function token(sb)
  local res = sb:handle{
    method = "POST", path = "/oauth/token",
    headers = { ["content-type"] = "application/x-www-form-urlencoded",
                authorization = "Basic " .. core.b64encode(D.client_id .. ":" .. D.client_secret) },
    body = "username=" .. USER .. "&password=" .. PASS:gsub("@", "%%40") .. "&grant_type=password&clientId="
      .. D.client_id,
  }
  return cjson.decode(res.body).access_token
end

-- One API call; the decoded envelope and the raw body.
local function call(sb, name, params)
  local row = catalogue.by_name[name]
  local req = { method = row.method, path = row.path, body = "", headers = {
    ["content-type"] = "application/json", partnerid = D.partner_id, authorization = "Bearer " .. sb.bearer } }
  if row.method == "GET" then
    local q = {}
    for k, v in pairs(params) do q[#q + 1] = k .. "=" .. v end
    req.query = table.concat(q, "&")
  else
    req.body = cjson.encode(params)
  end
  local res = sb:handle(req)
  assert(res.status == 200, name .. ": HTTP " .. res.status .. " " .. res.body)
  return cjson.decode(res.body), res.body
end

-- A random amount: mostly valid (as text or a number with up to 2 decimals), sometimes not.
local function amount(max_paise)
  local r = math.random()
  if r < 0.1 then
    local bad = { "1.005", "-5", "0", "abc", "", 1e20, "0.30000000000000004", "12.", {}, 10.001 }
    return bad[math.random(#bad)], nil
  end
  local paise = math.random(1, max_paise)
  if r < 0.55 then return money.text(paise), paise end
  return tonumber(money.text(paise)), paise
end

local function pick(list)
  if #list == 0 then return nil end
  return list[math.random(#list)]
end

local function run(seed)
  math.randomseed(seed)
  local t = 0
  local sb = sandbox.new{
    clock = function() return t end, token_ttl = 1e9,
    accounts = { [ACC] = 5000000, CACTWO = 300000 },
    limits = { MIN_KYC = { monthly_load = 400000, max_balance = 300000 } },
  }
  sb.bearer = token(sb)
  local total0 = ledger.total(sb.state.ledger)

  local wallets, refs, otps, settlements, transfers = {}, {}, {}, {}, {}
  local expect = { pg = 0, bank = 0, merchant = 0 } -- what the accepted calls moved out/in
  local n = 0
  local function fresh_ref()
    n = n + 1
    return ("S%d_R%d"):format(seed, n)
  end
  -- a reference: usually fresh, sometimes one used before (must be refused as a duplicate)
  local function some_ref()
    if #refs > 0 and math.random() < 0.1 then return pick(refs), true end
    return fresh_ref(), false
  end

  for i = 1, 6 do
    local acc = i <= 4 and ACC or "CACTWO"
    local env = call(sb, "wallet.create", {
      companyId = D.client_id, cardAccountId = acc, email = "u" .. i .. "@example.com",
      mobile = ("9%09d"):format(seed * 10 + i), title = "Mr", firstName = "U", lastName = tostring(i),
      gender = "M", documents = { { docType = "PAN", docNo = "ABCDE1234F" } }, address = "a", city = "c",
      state = "s", pincode = "560001", country = "India",
    })
    assert.equals(0, env.response_code)
    local w = { id = env.payload.enKashCardId, acc = acc }
    local b = call(sb, "transfers.add_beneficiary", { companyId = D.client_id, cardAccountId = acc,
      enKashCardId = w.id, beneficiaryName = "B" .. i, accountNumber = "12345678" .. i, ifsc = "SBIN0000001" })
    w.ben = b.payload.beneficiaryId
    wallets[#wallets + 1] = w
  end

  -- Check a money call's answer: accepted ones are applied once, duplicates never (a duplicate
  -- with a bad amount is refused for the amount first: the fields are checked before the books).
  local function money_call(name, params, ref, dup, on_ok)
    local before = sb.state.ledger.applied[ref]
    local env = call(sb, name, params)
    local applied = sb.state.ledger.applied[ref]
    if dup and money.paise(params.amount) == nil then
      assert.equals(1, env.response_code)
      assert.equals(before, applied)
    elseif dup then
      assert.equals(1, env.response_code)
      assert.matches("already exists", env.payload, 1, true)
    elseif env.response_code == 0 then
      assert.equals(1, applied, name .. " " .. ref)
      if on_ok then on_ok(env.payload) end
    else
      assert.is_nil(applied, name .. " refused yet applied: " .. tostring(env.payload))
    end
    if not dup and sb.state.refs[ref] then refs[#refs + 1] = ref end
    return env
  end

  local ops = {
    function() -- add_money
      local w, ref, dup = pick(wallets), some_ref()
      local a, paise = amount(150000)
      money_call("wallet.add_money", { companyId = D.client_id, cardAccountId = w.acc, enKashCardId = w.id,
        amount = a, uniqueReferenceNumber = ref }, ref, dup, function() expect.pg = expect.pg - paise end)
    end,
    function() -- top_up
      local w, ref, dup = pick(wallets), some_ref()
      local a = amount(150000)
      money_call("wallet.top_up", { enKashCardId = w.id, amount = a, transactionType = "CR",
        uniqueReferenceNumber = ref }, ref, dup)
    end,
    function() -- IMPS
      local w, ref, dup = pick(wallets), some_ref()
      local a, paise = amount(100000)
      money_call("transfers.imps", { companyId = D.client_id, cardAccountId = w.acc, enKashCardId = w.id,
        beneficiaryId = w.ben, amount = a, uniqueTransactionId = ref }, ref, dup, function()
          expect.bank = expect.bank + paise
          transfers[#transfers + 1] = { ref = ref, paise = paise, imps = true }
        end)
    end,
    function() -- wallet to wallet (sometimes to itself: refused)
      local w, to, ref, dup = pick(wallets), pick(wallets), some_ref()
      local a, paise = amount(100000)
      money_call("transfers.wallet_to_wallet", { companyId = D.client_id, cardAccountId = w.acc,
        enKashCardId = w.id, toEnKashCardId = to.id, amount = a, uniqueTransactionId = ref }, ref, dup,
        function() transfers[#transfers + 1] = { ref = ref, paise = paise } end)
    end,
    function() -- send an OTP
      local w = pick(wallets)
      local env = call(sb, "wallet.send_otp", { cardOtpAction = "TRANSACTION_OTP", cardAccountId = w.acc,
                                                 enKashCardId = w.id })
      otps[#otps + 1] = { ref = env.payload.otpReferenceId, wallet = w }
    end,
    function() -- merchant debit: a recent OTP, sometimes another wallet's or a wrong code
      local o = pick(otps)
      if not o then return end
      local w = math.random() < 0.8 and o.wallet or pick(wallets)
      local ref, dup = some_ref()
      local a, paise = amount(80000)
      money_call("merchant.debit", { merchantDetailId = "M" .. math.random(3), enkashCardId = w.id,
        companyId = D.client_id, cardAccountId = w.acc, amount = a, otpMedium = "MOBILE",
        otp = math.random() < 0.9 and "123456" or "000000", otpReferenceId = o.ref, uniqueTransactionId = ref },
        ref, dup, function()
          expect.merchant = expect.merchant + paise
          settlements[#settlements + 1] = { ref = ref, paise = paise }
        end)
    end,
    function() -- refund a settlement (a second refund is refused)
      local s = pick(settlements)
      if not s then return end
      local ok = pcall(sb.control, sb, "settlement", { merchantUniqueTxnId = s.ref, status = "REFUND" })
      if ok then
        assert.is_nil(s.refunded, "refunded twice")
        s.refunded = true
        expect.merchant = expect.merchant - s.paise
      end
    end,
    function() -- reverse or fail a transfer (once; a wallet-to-wallet reversal needs the money back)
      local tr = pick(transfers)
      if not tr then return end
      local ok = pcall(sb.control, sb, "transfer", { uniqueTransactionId = tr.ref,
                                                      status = math.random() < 0.5 and "REVERSED" or "FAILED" })
      if ok then
        assert.is_nil(tr.reversed, "credited back twice")
        tr.reversed = true
        if tr.imps then expect.bank = expect.bank - tr.paise end
      end
    end,
    function() -- time passes: OTPs expire, settlements step, months roll
      local s = ({ 1, 30, 120, 400, 40 * 86400 })[math.random(5)]
      sb:control("advance", { seconds = s })
    end,
    function() -- a KYC change moves the limits
      sb:control("wallet", { enKashCardId = pick(wallets).id,
                             kycStatus = math.random() < 0.5 and "FULL_KYC" or "MIN_KYC" })
    end,
  }
  local weights = { 4, 3, 3, 3, 2, 3, 1, 1, 1, 1 }
  local bag = {}
  for k, wgt in ipairs(weights) do for _ = 1, wgt do bag[#bag + 1] = ops[k] end end

  for _ = 1, OPS do pick(bag)() end

  local L = sb.state.ledger
  local snap = sb:control("ledger")
  assert.equals(total0, snap.total, "seed " .. seed)
  assert.equals(total0, ledger.total(L))
  for name, paise in pairs(snap.accounts) do
    if name:match("^wallet:") or name:match("^account:") then
      assert.is_true(paise >= 0, name .. " is negative: " .. paise)
    end
    assert.equals(paise, ledger.replay(L, name), name)
  end
  for ref, count in pairs(snap.applied) do assert.equals(1, count, ref) end
  for _, w in ipairs(wallets) do
    local env, body = call(sb, "wallet.balance", { companyId = D.client_id, cardAccountId = w.acc,
                                                   enKashCardId = w.id })
    assert.equals(0, env.response_code)
    local text = body:match('"otbBalance":([%d%.]+)')
    local paise = text == "0" and 0 or money.paise(text)
    assert.equals(ledger.replay(L, "wallet:" .. w.id), paise, "wallet " .. w.id)
  end
  assert.equals(expect.pg, snap.accounts.pg or 0)
  assert.equals(expect.bank, snap.accounts.bank or 0)
  local merchants = 0
  for name, paise in pairs(snap.accounts) do
    if name:match("^merchant:") then merchants = merchants + paise end
  end
  assert.equals(expect.merchant, merchants)
  -- the traffic did exercise the books
  assert.is_true(snap.entries > 20, "only " .. snap.entries .. " entries")
end

describe("sandbox ledger under randomized traffic", function()
  for seed = 1, SEEDS do
    it(("keeps the books balanced (seed %d, %d operations)"):format(seed, OPS), function()
      run(seed)
    end)
  end
end)
