// Jobs through the real binary (issue 12): approved Python, R and notebook code over a partner's
// table in the sandbox, private assets (the model scenario), the output guard, logs, and the
// refusals: an unapproved or altered job, a column the table does not allow, a runner without
// `run_jobs`, escape attempts.
#include <sqlite3.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cli_test_support.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace parley::cli_test {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

class JobsTest : public CliTest {
 protected:
  void SetUp() override {
    CliTest::SetUp();
    if (!fs::exists("/usr/bin/bwrap")) GTEST_SKIP() << "bubblewrap is not installed";
    WriteText(dir_ / "customers.csv",
              "customer_id,age,income,email\n"
              "c001,34,52000,a@x.com\n"
              "c002,45,61000,b@x.com\n"
              "c003,23,30000,c@x.com\n"
              "c004,51,88000,d@x.com\n"
              "c005,38,47000,e@x.com\n");
    // The retailer holds the customers; the lab brings code (and later a model).
    Ok("retailer", {"collaboration", "create", "room", "--abilities", "query,receive,run_jobs"});
    Ok("retailer", {"member", "add", "-c", "room", "lab", "--abilities", "receive,run_jobs"});
    Ok("retailer", {"table", "add", "-c", "room", "customers", "--source",
                    (dir_ / "customers.csv").string(), "--columns", "customer_id,age,income"});
    SetRule(R"({"kind": "custom", "never_output": ["customer_id"]})");
  }

  void SetRule(const std::string& rule) {
    Ok("retailer", {"rule", "set", "-c", "room", "customers", "--json", rule});
  }

  // Creates a job from `code` (written as `file`) and returns its id.
  std::string Create(const std::string& member, const std::string& file, const std::string& code,
                     std::vector<std::string> flags) {
    WriteText(dir_ / file, code);
    std::vector<std::string> arguments = {
        "job", "create", "-c", "room", file + "-job", "--code", (dir_ / file).string()};
    arguments.insert(arguments.end(), flags.begin(), flags.end());
    Outcome created = Ok(member, arguments);
    return created.out.substr(0, 64);
  }

  std::string Approve(const std::string& id, const std::string& member = "retailer",
                      const std::string& input = "customers") {
    Ok(member, {"job", "approve", "-c", "room", id, "--input", input});
    return id;
  }
};

TEST_F(JobsTest, AnApprovedJobRunsAndItsReceiverGetsTheOutputs) {
  std::string id = Create("lab", "above.py", R"(
import csv, json
rows = list(csv.DictReader(open("/in/customers.csv")))
threshold = float(json.load(open("/in/parameters.json"))["threshold"])
open("/out/summary.json", "w").write(json.dumps({"above": sum(float(r["income"]) > threshold for r in rows)}))
)",
                          {"--input", "customers:age,income", "--param", "threshold:number=50000"});
  ASSERT_EQ(id.size(), 64u);
  // Before the owner approves, nothing runs.
  Outcome refused = As("lab", {"job", "run", "-c", "room", id});
  EXPECT_EQ(refused.exit_code, kExitError);
  EXPECT_EQ(refused.err, absl::StrCat("error: job ", id.substr(0, 12),
                                      " is not approved for table 'customers' by its owner "
                                      "'retailer' (its custom rule's allowed_jobs)\n"));
  Approve(id);
  Outcome run = As("lab", {"job", "run", "-c", "room", id, "--param", "threshold=60000",
                           "--output-dir", (dir_ / "out").string()});
  ASSERT_EQ(run.exit_code, 0) << run;
  EXPECT_THAT(run.out, HasSubstr("job run 1: succeeded\n"));
  EXPECT_EQ(ReadText(dir_ / "out" / "summary.json"), R"({"above": 2})");
  // The receiver reads it again later; a run is audited.
  Outcome again =
      As("lab", {"job", "result", "-c", "room", "1", "--output-dir", (dir_ / "again").string()});
  EXPECT_EQ(again.exit_code, 0) << again;
  EXPECT_EQ(ReadText(dir_ / "again" / "summary.json"), R"({"above": 2})");
  EXPECT_THAT(Ok("lab", {"audit", "list", "-c", "room"}).out, HasSubstr("job.run"));
}

TEST_F(JobsTest, ShowPresentsTheCodeAndChangedCodeIsANewJob) {
  std::string code = "print('hello')\n";
  std::string id = Create("lab", "hello.py", code, {"--input", "customers:age"});
  Approve(id);
  Outcome shown = Ok("retailer", {"job", "show", "-c", "room", id.substr(0, 10)});
  EXPECT_THAT(shown.out, HasSubstr("--- hello.py ---\nprint('hello')\n"));
  EXPECT_THAT(shown.out, HasSubstr("approval: table customers (owner retailer): approved"));
  std::string changed = Create("lab", "hello2.py", code, {"--input", "customers:age"});
  EXPECT_NE(changed, id) << "the file name is part of the job";
  Outcome waiting = Ok("retailer", {"job", "show", "-c", "room", changed});
  EXPECT_THAT(waiting.out, HasSubstr("status:   waiting for approvals"));
}

TEST_F(JobsTest, AJobAlteredAfterApprovalDoesNotRun) {
  std::string id = Approve(Create("lab", "safe.py", "print(1)\n", {"--input", "customers:age"}));
  {
    // Someone with write access to the catalog swaps the approved code.
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((fs::path(home_) / "catalog.db").c_str(), &db), SQLITE_OK);
    std::string update = absl::StrCat(
        "UPDATE jobs SET bundle_json = replace(bundle_json, 'print(1)', "
        "'print(open(\"/in/customers.csv\").read())') WHERE job_id = '",
        id, "'");
    ASSERT_EQ(sqlite3_exec(db, update.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
    EXPECT_EQ(sqlite3_changes(db), 1);
    sqlite3_close(db);
  }
  Outcome run = As("lab", {"job", "run", "-c", "room", id});
  EXPECT_EQ(run.exit_code, kExitError);
  EXPECT_EQ(run.err, absl::StrCat("error: job ", id.substr(0, 12),
                                  " was altered after it was created: its content no longer "
                                  "matches its id\n"));
  EXPECT_THAT(Ok("lab", {"job", "list", "-c", "room"}).out, HasSubstr("ALTERED"));
}

TEST_F(JobsTest, AColumnTheTableDoesNotAllowFailsBeforeTheJobStarts) {
  // email is in the file but not among the table's allowed columns.
  std::string id = Approve(Create("lab", "mail.py", "open('/out/started.csv','w').write('x')\n",
                                  {"--input", "customers:age,email"}));
  Outcome run = As("lab", {"job", "run", "-c", "room", id});
  EXPECT_EQ(run.exit_code, kExitError);
  EXPECT_EQ(run.err, absl::StrCat("error: job ", id.substr(0, 12),
                                  " asks for column 'email' of table 'customers', which the table "
                                  "does not allow; nothing ran\n"));
  // No run was recorded.
  Outcome result = As("lab", {"job", "result", "-c", "room", "1"});
  EXPECT_EQ(result.exit_code, kExitError);
  EXPECT_EQ(result.err, "error: job run 1 not found in collaboration 'room'\n");
}

TEST_F(JobsTest, OnlyAMemberWithRunJobsRunsAJob) {
  // Adding a member waits for the lab's approval too.
  EXPECT_EQ(
      As("retailer", {"member", "add", "-c", "room", "viewer", "--abilities", "query,receive"})
          .exit_code,
      kExitPending);
  Ok("lab", {"change", "approve", "-c", "room", "2"});
  std::string id = Approve(Create("lab", "one.py", "print(1)\n", {"--input", "customers:age"}));
  Outcome run = As("viewer", {"job", "run", "-c", "room", id});
  EXPECT_EQ(run.exit_code, kExitNotPermitted);
  EXPECT_EQ(run.err,
            "error: member 'viewer' does not have the 'run_jobs' ability in collaboration 'room' "
            "(abilities: query, receive)\n");
}

TEST_F(JobsTest, TheGuardWithholdsOutputsHoldingIdentifiers) {
  std::string id = Approve(Create("lab", "ids.py", R"(
import csv
rows = list(csv.DictReader(open("/in/customers.csv")))
open("/out/ids.csv", "w").write("id,n\n" + "".join("%s,1\n" % r["customer_id"] for r in rows))
)",
                                  {"--input", "customers:customer_id,age"}));
  Outcome run =
      As("lab", {"job", "run", "-c", "room", id, "--output-dir", (dir_ / "leak").string()});
  EXPECT_EQ(run.exit_code, kExitError);
  EXPECT_EQ(run.out,
            "job run 1: withheld (output 'ids.csv' contains values of column "
            "'customers.customer_id', which its owner does not let leave the room; every output "
            "of the run is withheld)\n");
  EXPECT_FALSE(fs::exists(dir_ / "leak"));
  // The owner itself, as the only receiver, may get its own identifiers back.
  Outcome own =
      As("retailer", {"job", "run", "-c", "room", id, "--output-dir", (dir_ / "own").string()});
  EXPECT_EQ(own.exit_code, 0) << own;
  EXPECT_THAT(ReadText(dir_ / "own" / "ids.csv"), HasSubstr("c001,1\n"));
}

TEST_F(JobsTest, LogsReachTheRunnerOnlyWhenEveryOwnerAllows) {
  std::string code = R"(
import csv, sys
row = next(csv.DictReader(open("/in/customers.csv")))
sys.stderr.write("first income %s\n" % row["income"])
sys.exit(3)
)";
  std::string id = Approve(Create("lab", "noisy.py", code, {"--input", "customers:income"}));
  Outcome quiet = As("lab", {"job", "run", "-c", "room", id});
  EXPECT_EQ(quiet.exit_code, kExitError);
  EXPECT_EQ(quiet.out, "job run 1: failed (exited with status 3)\n");
  SetRule(absl::StrCat(R"({"kind": "custom", "never_output": ["customer_id"], )",
                       R"("allow_job_logs": true, "allowed_jobs": [")", id, R"("]})"));
  Outcome detailed = As("lab", {"job", "run", "-c", "room", id});
  EXPECT_EQ(detailed.out,
            "job run 2: failed (exited with status 3)\n--- stderr ---\nfirst income 52000\n");
}

TEST_F(JobsTest, EscapeAttemptsFailAndLeakNothing) {
  std::string home_file = (fs::path(home_) / "catalog.db").string();
  for (const std::string& attempt :
       {std::string("import socket\nsocket.create_connection(('127.0.0.1', 22), timeout=2)\n"),
        std::string("import socket\nsocket.getaddrinfo('debian.org', 443)\n"),
        std::string("open('/out/x.csv','w').write(open('/etc/shadow').read())\n"),
        "open('/out/x.csv','wb').write(open('" + home_file + "','rb').read())\n",
        std::string("open('/in/customers.csv','w').write('x')\n"),
        std::string("import os\nos.symlink('/etc/passwd', '/out/x.csv')\n"),
        std::string("while True:\n    pass\n")}) {
    static int n = 0;
    std::string file = absl::StrCat("escape", ++n, ".py");
    std::string id = Approve(Create("lab", file, attempt, {"--input", "customers:age"}));
    // --timeout bounds a job's wall and CPU time as it bounds a query's.
    Outcome run = As("lab", {"job", "run", "-c", "room", id, "--timeout", "3", "--output-dir",
                             (dir_ / (file + ".out")).string()});
    EXPECT_EQ(run.exit_code, kExitError) << attempt << run;
    EXPECT_THAT(run.out, HasSubstr(": failed (")) << attempt;
    EXPECT_THAT(run.out, Not(HasSubstr("saved to"))) << attempt;
    EXPECT_FALSE(fs::exists(dir_ / (file + ".out"))) << attempt;
    if (attempt.find("while True") != std::string::npos) break;  // keep the CPU-time case last
  }
}

TEST_F(JobsTest, APrivateModelScoresAPartnersCustomers) {
  // The lab trains a model on its own data and registers it: others see metadata only.
  fs::create_directories(dir_ / "model");
  WriteText(dir_ / "train.py", R"(
import joblib, sys
from sklearn.linear_model import LogisticRegression
X = [[20, 20000], [30, 40000], [40, 60000], [50, 90000], [25, 25000], [55, 95000]]
model = LogisticRegression(max_iter=1000).fit(X, [0, 0, 1, 1, 0, 1])
joblib.dump(model, sys.argv[1])
)");
  std::string train = "/usr/bin/python3 " + (dir_ / "train.py").string() + " " +
                      (dir_ / "model" / "model.joblib").string();
  ASSERT_EQ(std::system(train.c_str()), 0);
  Outcome registered =
      Ok("lab", {"asset", "register", "-c", "room", "churn", "--kind", "model", "--path",
                 (dir_ / "model").string(), "--description", "churn model"});
  EXPECT_THAT(registered.out, HasSubstr("registered asset churn (model, "));
  Outcome listed = Ok("retailer", {"--json", "asset", "list", "-c", "room"});
  EXPECT_THAT(listed.out, HasSubstr(R"("description": "churn model")"));
  EXPECT_THAT(listed.out, Not(HasSubstr("model.joblib"))) << "no path, no bytes";

  std::string id = Create("lab", "predict.py", R"(
import joblib, pandas as pd
model = joblib.load("/assets/churn/model.joblib")
customers = pd.read_csv("/in/customers.csv")
customers["score"] = (model.predict_proba(customers[["age", "income"]].values)[:, 1] > 0.5).astype(int)
customers[["customer_id", "score"]].to_csv("/out/predictions.csv", index=False)
pd.DataFrame({"likely_churners": [int(customers["score"].sum())]}).to_csv("/out/aggregate.csv", index=False)
)",
                          {"--input", "customers:customer_id,age,income", "--asset", "churn"});
  Approve(id);
  // Not yet approved by the model's owner.
  Outcome waiting = As("retailer", {"job", "run", "-c", "room", id});
  EXPECT_EQ(waiting.err, absl::StrCat("error: job ", id.substr(0, 12),
                                      " is not approved for asset 'churn' by its owner 'lab'\n"));
  Outcome approved = As("retailer", {"job", "approve", "-c", "room", id, "--input", "churn"});
  EXPECT_EQ(approved.exit_code, kExitNotPermitted) << "only the asset's owner approves";
  Approve(id, "lab", "churn");
  // The retailer runs it and receives the predictions for its own customers.
  Outcome run =
      As("retailer", {"job", "run", "-c", "room", id, "--output-dir", (dir_ / "scores").string()});
  ASSERT_EQ(run.exit_code, 0) << run;
  EXPECT_EQ(ReadText(dir_ / "scores" / "predictions.csv"),
            "customer_id,score\nc001,1\nc002,0\nc003,0\nc004,1\nc005,0\n");
  EXPECT_EQ(ReadText(dir_ / "scores" / "aggregate.csv"), "likely_churners\n2\n");
  // The lab never sees the retailer's rows: to it, the outputs are withheld.
  Outcome to_lab = As("retailer", {"job", "run", "-c", "room", id, "--receiver", "lab"});
  EXPECT_EQ(to_lab.exit_code, kExitError);
  EXPECT_THAT(to_lab.out, HasSubstr("withheld (output 'predictions.csv' contains values of "
                                    "column 'customers.customer_id'"));
}

TEST_F(JobsTest, ANotebookIsShownAsCellsAndRunsToHtml) {
  std::string notebook = R"nb({"cells": [
 {"cell_type": "markdown", "metadata": {}, "source": ["# Ages"]},
 {"cell_type": "code", "execution_count": null, "metadata": {}, "outputs": [],
  "source": ["import pandas as pd\n", "print(len(pd.read_csv('/in/customers.csv')))"]}],
 "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
 "nbformat": 4, "nbformat_minor": 5})nb";
  std::string id = Approve(Create("lab", "ages.ipynb", notebook, {"--input", "customers:age"}));
  Outcome shown = Ok("retailer", {"job", "show", "-c", "room", id});
  EXPECT_THAT(shown.out,
              HasSubstr("--- ages.ipynb (cells as text) ---\n# [markdown 1]\n# Ages\n\n# [code 2]\n"
                        "import pandas as pd\nprint(len(pd.read_csv('/in/customers.csv')))\n"));
  Outcome run = As("lab", {"job", "run", "-c", "room", id, "--output-dir", (dir_ / "nb").string()});
  ASSERT_EQ(run.exit_code, 0) << run;
  EXPECT_THAT(ReadText(dir_ / "nb" / "ages.html"), HasSubstr("<html"));
}

TEST_F(JobsTest, AnRScriptRuns) {
  std::string id = Approve(Create("lab", "mean.R",
                                  "d <- read.csv('/in/customers.csv')\n"
                                  "write.csv(data.frame(mean_age = mean(d$age)), "
                                  "'/out/mean.csv', row.names = FALSE)\n",
                                  {"--input", "customers:age"}));
  Outcome run = As("lab", {"job", "run", "-c", "room", id, "--output-dir", (dir_ / "r").string()});
  ASSERT_EQ(run.exit_code, 0) << run;
  EXPECT_EQ(ReadText(dir_ / "r" / "mean.csv"), "\"mean_age\"\n38.2\n");
}

TEST_F(JobsTest, LimitFlagsRefuseAbsurdValues) {
  std::string id = Approve(Create("lab", "ok.py", "print(1)\n", {"--input", "customers:age"}));
  auto refused = [&](std::vector<std::string> flags) {
    std::vector<std::string> arguments = {"job", "run", "-c", "room", id};
    arguments.insert(arguments.end(), flags.begin(), flags.end());
    return As("lab", arguments);
  };
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--memory", "4"},
       "error: job limit memory must be between 64 MiB and 64 GiB (got 4 bytes)\n"},
      {{"--memory", "1T"},
       "error: job limit memory must be between 64 MiB and 64 GiB (got 1024 GiB)\n"},
      {{"--processes", "0"}, "error: job limit processes must be between 1 and 4096 (got 0)\n"},
      {{"--processes", "100000"},
       "error: job limit processes must be between 1 and 4096 (got 100000)\n"},
      {{"--open-files", "3"}, "error: job limit open-files must be between 16 and 65536 (got 3)\n"},
      {{"--cpu-time", "0"},
       "error: job limit cpu-time must be between 1 seconds and 86400 seconds (got 0 seconds)\n"},
      {{"--wall-time", "48h"},
       "error: job limit wall-time must be between 1 seconds and 86400 seconds (got 172800 "
       "seconds)\n"},
      {{"--output-size", "10"},
       "error: job limit output-size must be between 1 KiB and 64 GiB (got 10 bytes)\n"},
  };
  for (const auto& [flags, error] : cases) {
    Outcome run = refused(flags);
    EXPECT_EQ(run.exit_code, kExitError) << flags[0] << run;
    EXPECT_EQ(run.err, error);
  }
  // A value that is not an amount is a usage error naming the flag.
  for (const auto& [flag, value, form] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"--memory", "lots", "a size such as 512M or 2G"},
           {"--memory", "-1G", "a size such as 512M or 2G"},
           {"--processes", "1.5", "a whole number"},
           {"--wall-time", "5 days", "a time such as 30 (seconds), 5m or 2h"}}) {
    Outcome run = refused({flag, value});
    EXPECT_EQ(run.exit_code, kExitUsage) << flag << run;
    EXPECT_THAT(run.err, HasSubstr(absl::StrCat(flag, " takes ", form, " (got '", value, "')")));
  }
  // Nothing ran.
  EXPECT_EQ(As("lab", {"job", "result", "-c", "room", "1"}).exit_code, kExitError);
  // Sane values are taken.
  Outcome ran = As("lab", {"job", "run", "-c", "room", id, "--memory", "512M", "--processes", "8",
                           "--open-files", "64", "--cpu-time", "30", "--wall-time", "1m",
                           "--output-size", "1M"});
  EXPECT_EQ(ran.exit_code, 0) << ran;
  EXPECT_EQ(ran.out, "job run 1: succeeded\n");
}

TEST_F(JobsTest, EachLimitStopsAHostileJobWithAClearReason) {
  struct Hostile {
    const char* file;
    const char* code;
    std::vector<std::string> flags;
    std::string reason;
  };
  const std::vector<Hostile> jobs = {
      {"forkbomb.py",
       "import os, time\nwhile True:\n    if os.fork() == 0:\n        time.sleep(30)\n"
       "        os._exit(0)\n",
       {"--processes", "16", "--wall-time", "30"},
       "exited with status 1 after reaching the process limit (16)"},
      {"hog.py",
       "x = bytearray(2 << 30)\nopen('/out/x.csv', 'w').write('x')\n",
       {"--memory", "256M"},
       "exited with status 1 after running out of memory (limit 256 MiB per process)"},
      {"filler.py",
       "f = open('/out/big.csv', 'wb')\nwhile True:\n    f.write(b'x,' * 32768)\n    f.flush()\n",
       {"--output-size", "1M"},
       "exited with status 1 after reaching the size limit of a file (1048576 bytes)"},
      {"spreader.py",
       "for i in range(1000):\n    open('/out/part%d.csv' % i, 'wb').write(b'y' * 300000)\n",
       {"--output-size", "1M"},
       "output larger than 1048576 bytes"},
      {"files.py",
       "fs = [open('/in/parameters.json') for i in range(1000)]\n",
       {"--open-files", "32"},
       "exited with status 1 after reaching the open files limit (32)"},
      {"spin.py",
       "while True:\n    pass\n",
       {"--cpu-time", "1"},
       "killed by signal 24 (CPU time limit)"},
      {"sleeper.py",
       "import time\ntime.sleep(600)\n",
       {"--wall-time", "2"},
       "wall time limit (2000 ms) reached"},
  };
  int run_number = 0;
  for (const Hostile& job : jobs) {
    SCOPED_TRACE(job.file);
    std::string id = Approve(Create("lab", job.file, job.code, {"--input", "customers:age"}));
    std::vector<std::string> arguments = {"job",
                                          "run",
                                          "-c",
                                          "room",
                                          id,
                                          "--output-dir",
                                          (dir_ / (std::string(job.file) + ".out")).string()};
    arguments.insert(arguments.end(), job.flags.begin(), job.flags.end());
    auto started = std::chrono::steady_clock::now();
    Outcome run = As("lab", arguments);
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    // The reason is the sandbox's fixed words: no log line, no value of the inputs.
    EXPECT_EQ(run.exit_code, kExitError) << run;
    EXPECT_EQ(run.out, absl::StrCat("job run ", ++run_number, ": failed (", job.reason, ")\n"));
    EXPECT_EQ(run.err, "");
    EXPECT_FALSE(fs::exists(dir_ / (std::string(job.file) + ".out")));
    EXPECT_LT(seconds, 25) << "stopped by its limit, not by the default wall time";
  }
}

TEST_F(JobsTest, TheGuardSeesThroughReformattedValues) {
  SetRule(R"({"kind": "custom", "never_output": ["customer_id", "income"]})");
  // One job, one re-formatting per run (its parameter): each is withheld, naming the column.
  std::string id =
      Approve(Create("lab", "disguise.py", R"(
import csv, json
rows = list(csv.DictReader(open("/in/customers.csv")))
form = json.load(open("/in/parameters.json"))["form"]
first = rows[0]
if form == "upper":
    open("/out/a.csv", "w").write("who\n" + first["customer_id"].upper() + "\n")
elif form == "quoted":
    open("/out/a.csv", "w").write('who,n\n"  %s ",1\n' % first["customer_id"])
elif form == "decimal":
    open("/out/a.csv", "w").write("income\n%s.00\n" % first["income"])
elif form == "exponent":
    open("/out/a.json", "w").write(json.dumps({"x": float(first["income"]) / 1e4}).replace("}", "e4}"))
elif form == "json":
    open("/out/a.json", "w").write(json.dumps([float(r["income"]) for r in rows]))
elif form == "html":
    open("/out/a.html", "w").write("<p>" + "".join("&#%d;" % ord(c) for c in first["customer_id"]) + "</p>")
else:
    open("/out/a.csv", "w").write("n\n%d\n" % len(rows))
)",
                     {"--input", "customers:customer_id,income", "--param", "form:text=count"}));
  const std::vector<std::pair<std::string, std::string>> forms = {
      {"upper", "a.csv' contains values of column 'customers.customer_id'"},
      {"quoted", "a.csv' contains values of column 'customers.customer_id'"},
      {"decimal", "a.csv' contains values of column 'customers.income'"},
      {"exponent", "a.json' contains values of column 'customers.income'"},
      {"json", "a.json' contains values of column 'customers.income'"},
      {"html", "a.html' contains values of column 'customers.customer_id'"},
  };
  int run_number = 0;
  for (const auto& [form, found] : forms) {
    Outcome run = As("lab", {"job", "run", "-c", "room", id, "--param", "form=" + form,
                             "--output-dir", (dir_ / form).string()});
    EXPECT_EQ(run.exit_code, kExitError) << form << run;
    EXPECT_EQ(run.out, absl::StrCat("job run ", ++run_number, ": withheld (output '", found,
                                    ", which its owner does not let leave the room; every output "
                                    "of the run is withheld)\n"))
        << form;
    EXPECT_FALSE(fs::exists(dir_ / form)) << form;
  }
  // A count of the rows is not an identifier: delivered.
  Outcome count =
      As("lab", {"job", "run", "-c", "room", id, "--output-dir", (dir_ / "count").string()});
  EXPECT_EQ(count.exit_code, 0) << count;
  EXPECT_EQ(ReadText(dir_ / "count" / "a.csv"), "n\n5\n");
}

TEST_F(JobsTest, OutputsAreSealedToTheReceiversKey) {
  // The lab's key pair, in its own config directory; its public half registered.
  fs::path config = dir_ / "lab-config";
  ASSERT_EQ(setenv("PARLEY_CONFIG_DIR", config.c_str(), 1), 0);
  Ok("lab", {"key", "new"});
  Ok("lab", {"key", "register"});
  const std::string secret_line = "above,2\n";
  std::string id = Approve(Create("lab", "sealed.py", R"(
import csv
rows = list(csv.DictReader(open("/in/customers.csv")))
open("/out/summary.csv", "w").write("above,%d\n" % sum(int(r["income"]) > 60000 for r in rows))
)",
                                  {"--input", "customers:income"}));
  Outcome run =
      As("lab", {"job", "run", "-c", "room", id, "--output-dir", (dir_ / "opened").string()});
  ASSERT_EQ(run.exit_code, 0) << run;
  EXPECT_EQ(ReadText(dir_ / "opened" / "summary.csv"), secret_line);
  Outcome again =
      As("lab", {"job", "result", "-c", "room", "1", "--output-dir", (dir_ / "again").string()});
  ASSERT_EQ(again.exit_code, 0) << again;
  EXPECT_EQ(ReadText(dir_ / "again" / "summary.csv"), secret_line);
  // The home holds the output sealed, never in the clear.
  int stored = 0;
  for (const auto& entry : fs::recursive_directory_iterator(fs::path(home_) / "job-results")) {
    if (!entry.is_regular_file()) continue;
    ++stored;
    std::string bytes = ReadText(entry.path());
    EXPECT_EQ(bytes.substr(0, 16), "PARLEY-SEALED-1\n") << entry.path();
    EXPECT_EQ(bytes.find(secret_line), std::string::npos) << entry.path();
    EXPECT_EQ(entry.path().extension(), ".sealed");
  }
  EXPECT_EQ(stored, 1);
  // Over --json the receiver's client shows the opened content, not the sealed bytes.
  Outcome json = Ok("lab", {"--json", "job", "result", "-c", "room", "1"});
  EXPECT_THAT(json.out, HasSubstr("\"content_base64\": \"YWJvdmUsMgo=\""));
  // Without the private key the receiver's client cannot open it, and says so.
  fs::rename(config / "result.key", dir_ / "moved.key");
  Outcome keyless = As("lab", {"job", "result", "-c", "room", "1"});
  EXPECT_EQ(keyless.exit_code, kExitError);
  EXPECT_THAT(keyless.err, HasSubstr("result.key' (create one with 'parley key new')"));
  unsetenv("PARLEY_CONFIG_DIR");
}

}  // namespace
}  // namespace parley::cli_test
