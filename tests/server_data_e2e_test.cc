// Bringing data to a server and keeping results there (issue 8 §2-§4), end to end: the real
// binary serves a home on a free loopback port, and three organisations — each with its own config
// directory holding its token file and its key pair — work through the CLI's remote mode: create a
// room, invite and join, approve a change request, upload their tables, set a rule, approve a
// template, run it for two receivers whose results are sealed to their keys, open them locally,
// and verify the audit log on their own machines; a server that rewrites or cuts back the history
// it showed is caught. Uploads are refused for hostile names, wrong checksums, sizes over the
// limit and paths outside one's own folder of the data root.
#include <httplib.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <regex>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "cli_test_support.h"
#include "crypto/sha256.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "server_test_support.h"

namespace parley::cli_test {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr int kMaxUpload = 4096;

class ServerDataE2eTest : public ServedHomeTest {
 protected:
  void SetUp() override {
    ServedHomeTest::SetUp();
    if (HasFatalFailure()) return;
    // No --data-root: each organisation's folder is HOME/data/<organisation>.
    StartServer({"--max-upload-bytes", std::to_string(kMaxUpload)});
    if (HasFatalFailure()) return;
    AddOrganisations({"retailer", "supplier", "agency"});
  }

  fs::path Folder(const std::string& organisation) { return server_home_ / "data" / organisation; }

  // The creator (retailer) invites `organisation` into "room" (while it is the room's only active
  // member, so the invitation needs no other approval); the code it returns.
  std::string Invite(const std::string& organisation, const std::string& abilities) {
    Outcome invited = Ok("retailer", {"--json", "member", "invite", "-c", "room", organisation,
                                      "--abilities", abilities});
    nlohmann::json json = nlohmann::json::parse(invited.out, nullptr, false);
    EXPECT_TRUE(json.is_object()) << invited;
    return json.is_object() ? json["code"].get<std::string>() : "";
  }
  void InviteAndJoin(const std::string& organisation, const std::string& abilities) {
    Ok(organisation, {"join", Invite(organisation, abilities)});
  }

  // A raw upload as `organisation`: PUT /api/v1/uploads/<path_name> with the checksum given.
  httplib::Result RawUpload(const std::string& organisation, const std::string& path_name,
                            const std::string& body, const std::string& sha256,
                            httplib::Headers extra = {}) {
    httplib::Client client("127.0.0.1", port_);
    client.set_bearer_token_auth(Token(organisation));
    extra.emplace("X-Parley-Sha256", sha256);
    return client.Put(("/api/v1/uploads/" + path_name).c_str(), extra, body,
                      "application/octet-stream");
  }

  // Every file under `folder`, by name (regular files only).
  std::set<std::string> FilesIn(const fs::path& folder) {
    std::set<std::string> names;
    std::error_code error;
    for (auto it = fs::recursive_directory_iterator(folder, error);
         !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
      if (it->is_regular_file()) names.insert(it->path().filename().string());
    }
    return names;
  }
};

// SQL on the server's catalog, as someone with access to its disk would run it.
void Tamper(const fs::path& catalog, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(catalog.c_str(), &db), SQLITE_OK);
  char* error = nullptr;
  int code = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
  std::string message = error != nullptr ? error : "";
  sqlite3_free(error);
  sqlite3_close(db);
  ASSERT_EQ(code, SQLITE_OK) << message;
}

struct StoredEntry {
  int64_t seq = 0, time = 0;
  std::string actor, action, details, prev_hash, hash, state;
};

std::vector<StoredEntry> ReadChain(const fs::path& catalog, const std::string& collaboration) {
  sqlite3* db = nullptr;
  std::vector<StoredEntry> entries;
  if (sqlite3_open(catalog.c_str(), &db) != SQLITE_OK) return entries;
  sqlite3_stmt* statement = nullptr;
  sqlite3_prepare_v2(db,
                     "SELECT seq, time, actor, action, details_json, prev_hash, hash, "
                     "state_sha256 FROM audit WHERE collaboration = ? ORDER BY seq",
                     -1, &statement, nullptr);
  sqlite3_bind_text(statement, 1, collaboration.c_str(), -1, SQLITE_TRANSIENT);
  while (sqlite3_step(statement) == SQLITE_ROW) {
    auto text = [&](int i) {
      const unsigned char* value = sqlite3_column_text(statement, i);
      return value == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(value));
    };
    entries.push_back({sqlite3_column_int64(statement, 0), sqlite3_column_int64(statement, 1),
                       text(2), text(3), text(4), text(5), text(6), text(7)});
  }
  sqlite3_finalize(statement);
  sqlite3_close(db);
  return entries;
}

// Rewrites the room's chain from entry `from` as a server operator would to hide an edit: every
// later hash recomputed, the head moved, so that the server's own verification passes.
void RewriteChain(const fs::path& catalog, std::vector<StoredEntry> entries, size_t from) {
  std::string prev = from == 0 ? std::string(64, '0') : entries[from - 1].hash;
  std::string sql = "BEGIN;";
  for (size_t i = from; i < entries.size(); ++i) {
    StoredEntry& entry = entries[i];
    nlohmann::json document = {
        {"seq", entry.seq},        {"time", entry.time},
        {"collaboration", "room"}, {"actor", entry.actor},
        {"action", entry.action},  {"details", nlohmann::json::parse(entry.details)},
        {"state", entry.state}};
    entry.prev_hash = prev;
    entry.hash = crypto::Sha256Hex(prev + "\n" + document.dump());
    absl::StrAppend(&sql, "UPDATE audit SET details_json = '", entry.details, "', prev_hash = '",
                    entry.prev_hash, "', hash = '", entry.hash,
                    "' WHERE collaboration = 'room' AND seq = ", entry.seq, ";");
    prev = entry.hash;
  }
  absl::StrAppend(&sql, "UPDATE audit_heads SET seq = ", entries.back().seq, ", hash = '", prev,
                  "' WHERE collaboration = 'room'; COMMIT;");
  Tamper(catalog, sql);
}

TEST_F(ServerDataE2eTest, ThreeOrganisationsUploadRunAndReceiveSealedResultsAndVerifyTheAudit) {
  // The room (its queries logged for table owners): the retailer creates it and invites the
  // supplier (runs and receives) and the agency (receives); both join.
  Ok("retailer", {"collaboration", "create", "room", "--query-logging"});
  std::string supplier_code = Invite("supplier", "query,receive");
  std::string agency_code = Invite("agency", "receive");
  Ok("supplier", {"join", supplier_code});
  Ok("agency", {"join", agency_code});
  // A change request that affects everyone waits for every member, then commits.
  Outcome proposed =
      Remote("retailer", {"collaboration", "set", "-c", "room", "--payer", "supplier"});
  EXPECT_EQ(proposed.exit_code, kExitPending) << proposed;
  std::smatch change;
  ASSERT_TRUE(std::regex_search(proposed.out, change, std::regex("change request ([0-9]+)")))
      << proposed;
  EXPECT_EQ(Remote("supplier", {"change", "approve", "-c", "room", change[1]}).exit_code,
            kExitPending);
  Outcome committed = Ok("agency", {"change", "approve", "-c", "room", change[1]});
  EXPECT_THAT(committed.out, HasSubstr("committed"));

  // Uploads: each organisation sends a file of its machine into its own folder of the server's
  // data root, checksummed; the table is added from it.
  fs::path sales = dir_ / "retailer_files" / "sales.csv";
  fs::create_directories(sales.parent_path());
  WriteText(sales, "region,amount\neast,10\nwest,20\nnorth,5\neast,7\n");
  Outcome added =
      Ok("retailer", {"table", "add", "-c", "room", "sales", "--upload", sales.string()});
  EXPECT_THAT(added.out, StartsWith("added table sales"));
  EXPECT_EQ(added.err, absl::StrCat("uploaded sales.csv (", fs::file_size(sales), " bytes, sha256 ",
                                    crypto::Sha256Hex(ReadText(sales)), ")\n"));
  EXPECT_EQ(ReadText(Folder("retailer") / "sales.csv"), ReadText(sales));
  // The member's folder and the file are the server user's alone.
  EXPECT_EQ(fs::status(Folder("retailer")).permissions() & fs::perms::all, fs::perms::owner_all);
  EXPECT_EQ(fs::status(Folder("retailer") / "sales.csv").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  fs::path loyalty = dir_ / "supplier_files" / "loyalty.csv";
  fs::create_directories(loyalty.parent_path());
  WriteText(loyalty, "region,tier\neast,gold\nwest,silver\n");
  Ok("supplier", {"table", "add", "-c", "room", "loyalty", "--upload", loyalty.string()});
  // The owner sees where its table lives on the server; the others never do.
  EXPECT_THAT(Ok("retailer", {"--json", "table", "show", "-c", "room", "sales"}).out,
              HasSubstr((Folder("retailer") / "sales.csv").string()));
  EXPECT_THAT(Ok("supplier", {"--json", "table", "show", "-c", "room", "sales"}).out,
              ::testing::Not(HasSubstr("location")));
  // No organisation registers a file of another's folder, or outside its own.
  Outcome foreign = Remote("supplier", {"table", "add", "-c", "room", "stolen", "--source",
                                        (Folder("retailer") / "sales.csv").string()});
  EXPECT_EQ(foreign.exit_code, kExitNotPermitted) << foreign;
  EXPECT_THAT(foreign.err, HasSubstr("is not under your folder of the server's data root"));

  // The retailer's rule admits only templates it approves; the supplier authors one.
  Ok("retailer", {"rule", "set", "-c", "room", "sales", "--json", R"({"kind": "custom"})"});
  Ok("supplier",
     {"template", "create", "-c", "room", "by_region", "--sql",
      "SELECT region, SUM(amount) AS total FROM sales WHERE amount > :min GROUP BY region "
      "ORDER BY region",
      "--param", "min:integer=0"});
  Outcome templates = Ok("supplier", {"--json", "template", "list", "-c", "room"});
  std::smatch id;
  ASSERT_TRUE(std::regex_search(templates.out, id, std::regex("\"id\": \"([0-9a-f]{64})\"")));
  Ok("retailer", {"template", "approve", "-c", "room", id[1], "--table", "sales"});

  // The receivers' key pairs, in their own config directories; the public halves registered.
  for (const char* organisation : {"supplier", "agency"}) {
    Outcome created = Ok(organisation, {"key", "new"});
    EXPECT_THAT(created.out, HasSubstr("public key "));
    EXPECT_EQ(fs::status(Config(organisation) / "result.key").permissions() & fs::perms::all,
              fs::perms::owner_read | fs::perms::owner_write);
    Outcome registered = Ok(organisation, {"key", "register"});
    EXPECT_THAT(registered.out, HasSubstr(absl::StrCat("results of ", organisation,
                                                       " are sealed to the public key")));
  }
  EXPECT_EQ(Ok("retailer", {"key", "show"}).out,
            "retailer has no public key: its results are stored in the clear\n");

  // The supplier runs the template for itself and the agency: the result is sealed on the
  // server, opened here with the supplier's private key, and printed as any result is.
  Outcome run = Ok("supplier", {"template", "run", "-c", "room", id[1], "--param", "min=6",
                                "--receiver", "supplier", "--receiver", "agency", "--output", "-"});
  EXPECT_EQ(run.out, "region,total\neast,17\nwest,20\n");
  Outcome json_run = Ok("supplier", {"--json", "template", "run", "-c", "room", id[1], "--param",
                                     "min=6", "--receiver", "supplier"});
  nlohmann::json run_json = nlohmann::json::parse(json_run.out, nullptr, false);
  ASSERT_TRUE(run_json.is_object()) << json_run;
  EXPECT_EQ(run_json["sealed"], true);
  EXPECT_EQ(run_json["result"]["rows"],
            nlohmann::json::parse(R"([["east", "17"], ["west", "20"]])"));
  // The agency opens its copy with its own key.
  EXPECT_EQ(Ok("agency", {"result", "get", "-c", "room", "1", "--output", "-"}).out,
            "region,total\neast,17\nwest,20\n");
  // The server's disk never held the result in the clear: results this small are kept sealed in
  // the catalog (no file), and no file of the home holds a value of the result.
  EXPECT_TRUE(FilesIn(server_home_ / "results").empty());
  std::error_code error;
  for (auto it = fs::recursive_directory_iterator(server_home_, error);
       !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
    if (!it->is_regular_file() || it->path().string().find("/data/") != std::string::npos) {
      continue;  // the uploaded sources hold the regions, not the totals
    }
    std::string text = ReadText(it->path());
    EXPECT_EQ(text.find("east,17"), std::string::npos) << it->path();
    EXPECT_EQ(text.find("\"17\""), std::string::npos) << it->path();
  }
  // The retailer, owner of the table read, sees the runs in its query log (not their results).
  Outcome log = Ok("retailer", {"query", "log", "-c", "room"});
  EXPECT_THAT(log.out, HasSubstr("supplier"));
  EXPECT_EQ(log.out.find("east"), std::string::npos);
  // The retailer receives nothing; a receiver without the key cannot open it either.
  EXPECT_EQ(Remote("retailer", {"result", "get", "-c", "room", "1"}).exit_code, kExitNotPermitted);
  fs::rename(Config("agency") / "result.key", Config("agency") / "moved.key");
  Outcome keyless = Remote("agency", {"result", "get", "-c", "room", "1"});
  EXPECT_EQ(keyless.exit_code, kExitError);
  EXPECT_THAT(keyless.err, HasSubstr("result.key"));
  fs::rename(Config("agency") / "moved.key", Config("agency") / "result.key");
  // A receiver deletes the result, for all its receivers.
  EXPECT_EQ(Ok("supplier", {"result", "delete", "-c", "room", "2"}).out,
            "deleted the result of query 2 in room\n");
  EXPECT_EQ(Remote("supplier", {"result", "get", "-c", "room", "2"}).exit_code, kExitError);
  EXPECT_EQ(Ok("agency", {"result", "get", "-c", "room", "1", "--output", "-"}).out,
            "region,total\neast,17\nwest,20\n");

  // A key rotation loses no result: the old pair is kept (result-keys/, 0600), the new public key
  // registered; the result sealed before opens with the old pair, one sealed after with the new.
  std::string old_public = ReadText(Config("agency") / "result.pub");
  old_public.pop_back();
  Outcome rotated = Ok("agency", {"key", "new", "--force"});
  EXPECT_THAT(rotated.out, HasSubstr(absl::StrCat("the previous key pair is kept in ",
                                                  (Config("agency") / "result-keys").string())));
  fs::path kept = Config("agency") / "result-keys" / (old_public + ".key");
  ASSERT_TRUE(fs::exists(kept)) << rotated;
  EXPECT_EQ(fs::status(kept).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_NE(ReadText(Config("agency") / "result.pub"), old_public + "\n");
  Ok("agency", {"key", "register"});
  Outcome after = Ok("supplier", {"--json", "template", "run", "-c", "room", id[1], "--param",
                                  "min=6", "--receiver", "agency"});
  nlohmann::json after_json = nlohmann::json::parse(after.out, nullptr, false);
  ASSERT_TRUE(after_json.is_object()) << after;
  std::string after_id = std::to_string(after_json["query_id"].get<int64_t>());
  for (const std::string& query : {std::string("1"), after_id}) {
    EXPECT_EQ(Ok("agency", {"result", "get", "-c", "room", query, "--output", "-"}).out,
              "region,total\neast,17\nwest,20\n")
        << "query " << query;
  }
  // Without the kept pair, the old result no longer opens; the new one still does.
  fs::remove_all(Config("agency") / "result-keys");
  Outcome lost = Remote("agency", {"result", "get", "-c", "room", "1"});
  EXPECT_EQ(lost.exit_code, kExitNotPermitted) << lost;
  EXPECT_THAT(lost.err, HasSubstr("the result was not sealed to this key"));
  EXPECT_EQ(Ok("agency", {"result", "get", "-c", "room", after_id, "--output", "-"}).out,
            "region,total\neast,17\nwest,20\n");
  Ok("agency", {"result", "delete", "-c", "room", after_id});

  // Every member verifies the audit log on its own machine, and keeps the hashes it saw.
  for (const char* organisation : {"retailer", "supplier", "agency"}) {
    Outcome verified = Ok(organisation, {"audit", "verify", "-c", "room"});
    EXPECT_THAT(verified.out, HasSubstr("audit log of room intact"));
    EXPECT_THAT(verified.out, HasSubstr("checked on this machine"));
  }
  Outcome again = Ok("agency", {"audit", "verify", "-c", "room"});
  std::smatch counts;
  ASSERT_TRUE(std::regex_search(again.out, counts,
                                std::regex("checked on this machine: ([0-9]+) entries link and "
                                           "hash; ([0-9]+) seen before, unchanged")))
      << again;
  EXPECT_EQ(counts[1], counts[2]);

  // The server's operator rewrites history: an entry's details edited and every later hash and
  // the head recomputed. The server's own check passes; the members' clients do not.
  fs::path catalog = server_home_ / "catalog.db";
  std::vector<StoredEntry> chain = ReadChain(catalog, "room");
  ASSERT_GT(chain.size(), 10u);
  size_t edited = 0;
  for (size_t i = 0; i < chain.size(); ++i) {
    if (chain[i].action == "query.explained" || chain[i].action == "query.submitted") {
      edited = i;
      break;
    }
  }
  ASSERT_GT(edited, 0u);
  nlohmann::json details = nlohmann::json::parse(chain[edited].details);
  details["sql_sha256"] = std::string(64, 'f');
  chain[edited].details = details.dump();
  RewriteChain(catalog, chain, edited);
  Outcome rewritten = Remote("agency", {"audit", "verify", "-c", "room"});
  EXPECT_EQ(rewritten.exit_code, kExitError) << rewritten;
  EXPECT_THAT(rewritten.out, HasSubstr("audit log of room intact"));  // the server's own view
  EXPECT_THAT(rewritten.out,
              HasSubstr(absl::StrCat("audit log of room REWRITTEN by the server since this client "
                                     "last verified it: history was rewritten: entry ",
                                     chain[edited].seq,
                                     " is not the entry shown before (its hash changed)")));
  // A client that starts verifying only now takes the chain as it is shown...
  fs::remove_all(Config("retailer") / "audit");
  Ok("retailer", {"audit", "verify", "-c", "room"});
  // ... and catches it being cut back: the last entries gone, the head moved to match. (The
  // entries cut change no policy, so the server's own check still passes.)
  std::vector<StoredEntry> current = ReadChain(catalog, "room");
  int64_t keep = current.back().seq - 2;
  EXPECT_EQ(current.back().action, "result.deleted");
  Tamper(catalog, absl::StrCat("DELETE FROM audit WHERE collaboration = 'room' AND seq > ", keep,
                               "; UPDATE audit_heads SET seq = ", keep, ", hash = '",
                               current[keep - 1].hash, "' WHERE collaboration = 'room'"));
  Outcome truncated = Remote("retailer", {"audit", "verify", "-c", "room"});
  EXPECT_EQ(truncated.exit_code, kExitError) << truncated;
  EXPECT_THAT(truncated.out,
              HasSubstr(absl::StrCat("the log was cut back: it has ", keep, " entries, and entry ",
                                     keep + 1, " was shown before")));
  // With --json: the server's answer and the client's, together.
  Outcome json = Remote("retailer", {"--json", "audit", "verify", "-c", "room"});
  nlohmann::json verification = nlohmann::json::parse(json.out, nullptr, false);
  ASSERT_TRUE(verification.is_object()) << json;
  EXPECT_EQ(verification["ok"], true);
  EXPECT_EQ(verification["client"]["ok"], false);
}

TEST_F(ServerDataE2eTest, UploadsAreRefusedForHostileNamesBadChecksumsAndSizesOverTheLimit) {
  const std::string body = "x\n1\n";
  const std::string sha = crypto::Sha256Hex(body);
  // Names that are not a plain file name: 400, nothing written.
  for (const std::string& name :
       {std::string(".."), std::string(".hidden.csv"), std::string("a%00b.csv"),
        std::string(200, 'a'), std::string("a%20b.csv"), std::string("%2e%2e")}) {
    httplib::Result result = RawUpload("agency", name, body, sha);
    ASSERT_TRUE(result) << name;
    EXPECT_EQ(result->status, 400) << name << ": " << result->body;
    EXPECT_THAT(result->body, HasSubstr("an upload's file name is letters, digits")) << name;
  }
  // A name with a folder is not the upload route at all.
  httplib::Result nested = RawUpload("agency", "a%2Fb.csv", body, sha);
  ASSERT_TRUE(nested);
  EXPECT_EQ(nested->status, 404) << nested->body;
  // A checksum that does not match what arrived: 400, and nothing is kept (not even a temporary
  // file).
  httplib::Result mismatch = RawUpload("agency", "data.csv", body, std::string(64, '0'));
  ASSERT_TRUE(mismatch);
  EXPECT_EQ(mismatch->status, 400);
  EXPECT_EQ(
      mismatch->body,
      R"({"error":{"code":"INVALID_ARGUMENT","message":"the checksum of the upload of 'data.csv' does not match what arrived (SHA-256 sent with it differs); nothing was kept"}})");
  EXPECT_EQ(FilesIn(Folder("agency")), std::set<std::string>{});
  httplib::Result malformed = RawUpload("agency", "data.csv", body, "not-hex");
  ASSERT_TRUE(malformed);
  EXPECT_EQ(malformed->status, 400);
  // More than the limit: 413 naming it, whether declared up front or only sent.
  std::string large(kMaxUpload + 1, 'x');
  httplib::Result declared = RawUpload("agency", "large.csv", large, crypto::Sha256Hex(large));
  ASSERT_TRUE(declared);
  EXPECT_EQ(declared->status, 413);
  EXPECT_THAT(declared->body, HasSubstr("at most 4096 bytes"));
  {
    httplib::Client client("127.0.0.1", port_);
    client.set_bearer_token_auth(Token("agency"));
    size_t sent = 0;
    httplib::Result streamed = client.Put(
        "/api/v1/uploads/streamed.csv", {{"X-Parley-Sha256", sha}},
        [&](size_t, httplib::DataSink& sink) {
          // Chunked, without a declared size, and more than the limit.
          std::string chunk(1024, 'y');
          if (sent > 16 * 1024) {
            sink.done();
            return true;
          }
          sent += chunk.size();
          return sink.write(chunk.data(), chunk.size());
        },
        "application/octet-stream");
    if (streamed) {
      EXPECT_EQ(streamed->status, 413);
    }  // else: the server closed the connection while the client was still sending
  }
  // (The server may still be unwinding the cut-off upload when the client gives up.)
  for (int i = 0; i < 40 && !FilesIn(Folder("agency")).empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(FilesIn(Folder("agency")), std::set<std::string>{});
  // A body that is not bytes, or no token.
  {
    httplib::Client client("127.0.0.1", port_);
    client.set_bearer_token_auth(Token("agency"));
    httplib::Result json =
        client.Put("/api/v1/uploads/a.csv", {{"X-Parley-Sha256", sha}}, body, "application/json");
    ASSERT_TRUE(json);
    EXPECT_EQ(json->status, 415);
    httplib::Client anonymous("127.0.0.1", port_);
    httplib::Result unauthenticated = anonymous.Put(
        "/api/v1/uploads/a.csv", {{"X-Parley-Sha256", sha}}, body, "application/octet-stream");
    ASSERT_TRUE(unauthenticated);
    EXPECT_EQ(unauthenticated->status, 401);
  }
  // A good upload, then the same name again: 409, the first file unchanged.
  httplib::Result good = RawUpload("agency", "data.csv", body, sha);
  ASSERT_TRUE(good);
  EXPECT_EQ(good->status, 200) << good->body;
  nlohmann::json stored = nlohmann::json::parse(good->body);
  EXPECT_EQ(stored["path"], (Folder("agency") / "data.csv").string());
  EXPECT_EQ(stored["bytes"], 4);
  EXPECT_EQ(stored["sha256"], sha);
  httplib::Result taken = RawUpload("agency", "data.csv", "other\n", crypto::Sha256Hex("other\n"));
  ASSERT_TRUE(taken);
  EXPECT_EQ(taken->status, 409);
  EXPECT_EQ(ReadText(Folder("agency") / "data.csv"), body);
  // A link planted in one's folder under the upload's name is not followed or replaced.
  fs::path outside = dir_ / "outside.csv";
  WriteText(outside, "secret\n1\n");
  fs::create_symlink(outside, Folder("agency") / "planted.csv");
  httplib::Result planted = RawUpload("agency", "planted.csv", body, sha);
  ASSERT_TRUE(planted);
  EXPECT_EQ(planted->status, 409);
  EXPECT_EQ(ReadText(outside), "secret\n1\n");
  // ... and registering it, or any path that leads out of one's own folder, is refused.
  fs::create_directories(Folder("retailer"));
  WriteText(Folder("retailer") / "x.csv", "x\n1\n");
  Ok("agency", {"collaboration", "create", "own"});
  for (const std::string& source : {(Folder("agency") / "planted.csv").string(), outside.string(),
                                    (Folder("agency") / ".." / "retailer" / "x.csv").string()}) {
    Outcome refused = Remote("agency", {"table", "add", "-c", "own", "t", "--source", source});
    EXPECT_EQ(refused.exit_code, kExitNotPermitted) << source << refused;
    EXPECT_THAT(refused.err, HasSubstr("is not under your folder of the server's data root"));
  }
  Outcome mine = Ok("agency", {"table", "add", "-c", "own", "t", "--source",
                               (Folder("agency") / "data.csv").string()});
  EXPECT_THAT(mine.out, StartsWith("added table t"));
  // The CLI checks the size before it sends, and names the limit.
  fs::path big = dir_ / "big.csv";
  WriteText(big, "x\n" + std::string(kMaxUpload, '1') + "\n");
  Outcome too_big =
      Remote("agency", {"table", "add", "-c", "own", "big", "--upload", big.string()});
  EXPECT_EQ(too_big.exit_code, kExitError) << too_big;
  EXPECT_EQ(too_big.err,
            absl::StrCat("error: --upload: '", big.string(), "' is ", fs::file_size(big),
                         " bytes; the server accepts uploads of at most 4096 bytes\n"));
  // A retention the creator sets, and only the creator.
  EXPECT_EQ(Ok("agency", {"collaboration", "set", "-c", "own", "--result-retention", "7"}).out,
            "results of own are kept 7 days\n");
}

TEST_F(ServerDataE2eTest, WebhooksReceiveSignedEventsWithIdsOnlyAndNeverBlockAQuery) {
  WebhookReceiver receiver;
  Ok("retailer", {"collaboration", "create", "room"});
  // A URL that is not http(s) is refused; the secret is printed once.
  Outcome ftp = Remote("retailer", {"webhook", "add", "-c", "room", "ftp://127.0.0.1/x"});
  EXPECT_EQ(ftp.exit_code, kExitError) << ftp;
  EXPECT_THAT(ftp.err, HasSubstr("a webhook URL is http(s)://HOST[:PORT][/PATH]"));
  Outcome added = Ok("retailer", {"webhook", "add", "-c", "room", receiver.Url("/hook")});
  std::smatch secret;
  ASSERT_TRUE(std::regex_search(added.out, secret, std::regex("secret (pw_[0-9a-f_]+)"))) << added;
  EXPECT_THAT(Ok("retailer", {"webhook", "list", "-c", "room"}).out,
              StartsWith(absl::StrCat("1  ", receiver.Url("/hook"))));
  // A slow receiver of the retailer's holds its deliveries; nothing waits for it.
  Ok("retailer", {"webhook", "add", "-c", "room", receiver.Url("/slow")});

  InviteAndJoin("supplier", "query,receive");
  Outcome proposed =
      Remote("retailer", {"collaboration", "set", "-c", "room", "--payer", "supplier"});
  EXPECT_EQ(proposed.exit_code, kExitPending) << proposed;
  Ok("supplier", {"change", "approve", "-c", "room", "2"});
  // The supplier's own webhook; the retailer's table and a query only the supplier receives.
  Ok("supplier", {"webhook", "add", "-c", "room", receiver.Url("/hook")});
  fs::path sales = dir_ / "sales.csv";
  WriteText(sales, "region,amount\neast,10\nwest,20\n");
  Ok("retailer", {"table", "add", "-c", "room", "sales", "--upload", sales.string()});
  Ok("retailer", {"rule", "set", "-c", "room", "sales", "--json",
                  R"({"kind": "custom", "any_query": true,
                      "allowed_analysis_providers": ["supplier"]})"});
  auto start = std::chrono::steady_clock::now();
  Outcome run = Ok("supplier", {"query", "run", "-c", "room", "--sql",
                                "SELECT region, amount FROM sales", "--output", "-"});
  EXPECT_EQ(run.out, "region,amount\neast,10\nwest,20\n");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
  EXPECT_GE(receiver.slow_calls(), 1);  // held, while everything above went on

  receiver.Release();
  // Retailer's /hook: invitation opened, joined (committed), payer opened, approved, committed,
  // query submitted (not how it ended: the retailer does not receive it). Supplier's /hook:
  // query submitted and succeeded.
  std::vector<WebhookReceiver::Delivery> got = receiver.Await(8);
  std::map<std::string, int> kinds;
  for (const WebhookReceiver::Delivery& delivery : got) {
    nlohmann::json body = nlohmann::json::parse(delivery.body, nullptr, false);
    ASSERT_TRUE(body.is_object()) << delivery.body;
    EXPECT_EQ(body["event"], delivery.event);
    EXPECT_EQ(body["collaboration"], "room");
    // Ids and kinds only: no SQL, no values, no URL.
    EXPECT_EQ(delivery.body.find("SELECT"), std::string::npos);
    EXPECT_EQ(delivery.body.find("east"), std::string::npos);
    EXPECT_EQ(delivery.body.find("http"), std::string::npos);
    std::string owner = body["webhook"] == 1 ? "retailer" : "supplier";
    kinds[owner + " " + delivery.event]++;
    if (owner == "retailer") {
      EXPECT_EQ(delivery.signature,
                "sha256=" + crypto::HmacSha256Hex(secret[1].str(), delivery.body));
    }
  }
  EXPECT_EQ(kinds, (std::map<std::string, int>{{"retailer change.opened", 2},
                                               {"retailer change.committed", 2},
                                               {"retailer change.approved", 1},
                                               {"retailer query.submitted", 1},
                                               {"supplier query.submitted", 1},
                                               {"supplier query.succeeded", 1}}));
  // Removed: no more deliveries to it.
  EXPECT_EQ(Ok("retailer", {"webhook", "remove", "-c", "room", "1"}).out,
            "removed webhook 1 of room\n");
  EXPECT_EQ(Remote("supplier", {"webhook", "remove", "-c", "room", "2"}).exit_code, kExitError);
}

}  // namespace
}  // namespace parley::cli_test
