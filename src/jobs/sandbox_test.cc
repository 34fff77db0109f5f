// The sandbox against escape attempts, on the real bwrap and Debian's python3. Each attempt is
// written so that it succeeds (exit 0, or a secret in /out) only if the protection is missing:
// the test then asserts the run failed and nothing reached the host.
#include "jobs/sandbox.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace parley::jobs {
namespace {

using ::testing::HasSubstr;

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

class SandboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!SandboxAvailable()) GTEST_SKIP() << "bwrap is not installed";
    char pattern[] = "/tmp/parley-sandbox-test-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    scratch_ = pattern;
    // The runs' parent must be traversable by the runs' uids (RunDirectory::Create); its own parent
    // must be traversable too.
    std::filesystem::permissions(scratch_, std::filesystem::perms(0711));
    // A stand-in for the Parley home, beside the run directories, with a secret in it.
    home_ = scratch_ + "/home";
    std::filesystem::create_directories(home_);
    WriteFile(home_ + "/catalog.db", "SECRET-CATALOG");
    runs_ = scratch_ + "/runs";
  }
  void TearDown() override {
    std::error_code error;
    if (!scratch_.empty()) std::filesystem::remove_all(scratch_, error);
  }

  // Runs a Python program in a fresh run directory whose input holds data.csv.
  SandboxResult RunPython(const std::string& program, SandboxLimits limits = Small()) {
    auto directory = RunDirectory::Create(runs_);
    EXPECT_TRUE(directory.ok()) << directory.status();
    WriteFile(directory->input() + "/data.csv", "id,value\n1,10\n2,20\n");
    WriteFile(directory->input() + "/job.py", program);
    EXPECT_TRUE(directory->SealInputs().ok());
    SandboxRequest request;
    request.argv = {"/usr/bin/python3", "/in/job.py"};
    request.limits = limits;
    auto result = RunSandboxed(*directory, request);
    EXPECT_TRUE(result.ok()) << result.status();
    last_output_ = CollectOutputs(directory->output(), limits.output_bytes);
    return result.ok() ? *result : SandboxResult{};
  }

  static SandboxLimits Small() {
    SandboxLimits limits;
    limits.cpu_seconds = 10;
    limits.memory_bytes = int64_t{512} << 20;
    limits.processes = 32;
    limits.open_files = 64;
    limits.file_bytes = int64_t{1} << 20;
    limits.output_bytes = int64_t{2} << 20;
    limits.tmp_bytes = int64_t{4} << 20;
    limits.wall_milliseconds = 20'000;
    return limits;
  }

  // Every output file's bytes, concatenated: what would reach the receivers.
  std::string AllOutput() const {
    std::string all;
    if (last_output_.ok()) {
      for (const OutputFile& file : *last_output_) all += file.bytes;
    }
    return all;
  }

  std::string scratch_, home_, runs_;
  absl::StatusOr<std::vector<OutputFile>> last_output_ = std::vector<OutputFile>{};
};

TEST_F(SandboxTest, RunsPythonOverItsInputsAndKeepsItsOutputs) {
  SandboxResult result = RunPython(R"(
import csv, os
rows = list(csv.DictReader(open("/in/data.csv")))
open("/out/total.csv", "w").write("total\n%d\n" % sum(int(r["value"]) for r in rows))
print("uid", os.getuid(), "cwd", os.getcwd())
)");
  EXPECT_TRUE(result.succeeded()) << result.reason << result.stderr_text;
  EXPECT_THAT(result.stdout_text, HasSubstr("cwd /out"));
  ASSERT_TRUE(last_output_.ok()) << last_output_.status();
  ASSERT_EQ(last_output_->size(), 1u);
  EXPECT_EQ((*last_output_)[0].relative_path, "total.csv");
  EXPECT_EQ((*last_output_)[0].bytes, "total\n30\n");
}

TEST_F(SandboxTest, RunsAsAnUnprivilegedUidOfItsOwn) {
  if (geteuid() != 0) GTEST_SKIP() << "only root switches uid";
  auto directory = RunDirectory::Create(runs_);
  ASSERT_TRUE(directory.ok()) << directory.status();
  SandboxRequest request;
  request.argv = {"/usr/bin/python3", "-c", "open('/out/mine', 'w').write('x')"};
  request.limits = Small();
  auto result = RunSandboxed(*directory, request);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->succeeded()) << result->stderr_text;
  // What the job wrote belongs, on the host, to the run's uid: never root (0), in the range.
  struct stat info;
  ASSERT_EQ(stat((directory->output() + "/mine").c_str(), &info), 0);
  EXPECT_EQ(info.st_uid, directory->uid());
  EXPECT_GE(info.st_uid, kSandboxUidBase);
  EXPECT_LT(info.st_uid, uint64_t{kSandboxUidBase} + kSandboxUidCount);
}

TEST_F(SandboxTest, TcpToTheHostsLoopbackFails) {
  int server = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(server, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(server, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(listen(server, 4), 0);
  socklen_t length = sizeof address;
  getsockname(server, reinterpret_cast<sockaddr*>(&address), &length);
  int port = ntohs(address.sin_port);
  SandboxResult result = RunPython("import socket\ns = socket.create_connection(('127.0.0.1', " +
                                   std::to_string(port) + "), timeout=3)\ns.sendall(b'LEAK')\n");
  EXPECT_FALSE(result.succeeded());
  EXPECT_EQ(result.end, SandboxEnd::kExited);
  EXPECT_THAT(result.stderr_text, HasSubstr("ConnectionRefusedError"));
  // Nothing connected to the host's listener.
  timeval timeout{0, 0};
  fd_set set;
  FD_ZERO(&set);
  FD_SET(server, &set);
  EXPECT_EQ(select(server + 1, &set, nullptr, nullptr, &timeout), 0);
  close(server);
}

TEST_F(SandboxTest, TcpElsewhereAndDnsFail) {
  SandboxResult tcp =
      RunPython("import socket\nsocket.create_connection(('1.1.1.1', 53), timeout=3)\n");
  EXPECT_FALSE(tcp.succeeded());
  EXPECT_THAT(tcp.stderr_text, HasSubstr("Network is unreachable"));
  SandboxResult dns = RunPython("import socket\nsocket.getaddrinfo('debian.org', 443)\n");
  EXPECT_FALSE(dns.succeeded());
  EXPECT_THAT(dns.stderr_text, HasSubstr("socket.gaierror"));
}

TEST_F(SandboxTest, HostFilesAreNotThere) {
  for (const std::string& path :
       {std::string("/etc/shadow"), std::string("/etc/passwd"), home_ + "/catalog.db",
        std::string("/root/.bashrc"), runs_, std::string("/home")}) {
    SandboxResult result =
        RunPython("import os\nprint(os.listdir('" + path + "') if os.path.isdir('" + path +
                  "') else open('" + path + "').read())\nopen('/out/x', 'w').write('read')\n");
    EXPECT_FALSE(result.succeeded()) << path;
    EXPECT_THAT(result.stderr_text, HasSubstr("FileNotFoundError")) << path;
    EXPECT_EQ(AllOutput(), "") << path;
  }
}

TEST_F(SandboxTest, TheServersProcessesAreNotVisible) {
  SandboxResult result =
      RunPython("import os\nopen('/proc/" + std::to_string(getpid()) + "/environ').read()\n");
  EXPECT_FALSE(result.succeeded());
  EXPECT_THAT(result.stderr_text, HasSubstr("FileNotFoundError"));
  SandboxResult listing = RunPython(R"(
import os
pids = [p for p in os.listdir('/proc') if p.isdigit()]
assert len(pids) > 3, pids
)");
  EXPECT_FALSE(listing.succeeded()) << "the sandbox sees only its own few processes";
}

TEST_F(SandboxTest, AnotherRunsDirectoryIsNotReachable) {
  auto other = RunDirectory::Create(runs_);
  ASSERT_TRUE(other.ok());
  WriteFile(other->input() + "/theirs.csv", "SECRET-OTHER-RUN");
  ASSERT_TRUE(other->SealInputs().ok());
  SandboxResult result = RunPython("print(open('" + other->input() + "/theirs.csv').read())\n");
  EXPECT_FALSE(result.succeeded());
  EXPECT_THAT(result.stdout_text, ::testing::Not(HasSubstr("SECRET")));
}

TEST_F(SandboxTest, WritingOutsideTheOutputFolderFails) {
  for (std::string path : {"/in/data.csv", "/in/new.csv", "/usr/x", "/x", "/etc/x"}) {
    SandboxResult result = RunPython("open('" + path + "', 'w').write('x')\n");
    EXPECT_FALSE(result.succeeded()) << path;
    EXPECT_THAT(result.stderr_text,
                ::testing::AnyOf(HasSubstr("Read-only file system"), HasSubstr("Permission denied"),
                                 HasSubstr("No such file")))
        << path;
  }
}

TEST_F(SandboxTest, LinksOutOfTheOutputFolderAreRefusedWhenCollected) {
  SandboxResult symlink = RunPython("import os\nos.symlink('/etc/shadow', '/out/shadow.csv')\n");
  EXPECT_TRUE(symlink.succeeded()) << symlink.stderr_text;
  ASSERT_FALSE(last_output_.ok());
  EXPECT_EQ(last_output_.status().message(), "output shadow.csv is a link");

  // A hard link to an input crosses mounts and fails inside; one made within /out is refused.
  SandboxResult cross = RunPython("import os\nos.link('/in/data.csv', '/out/data.csv')\n");
  EXPECT_FALSE(cross.succeeded());
  EXPECT_THAT(cross.stderr_text, HasSubstr("Invalid cross-device link"));
  SandboxResult inside =
      RunPython("import os\nopen('/out/a', 'w').write('x')\nos.link('/out/a', '/out/b')\n");
  EXPECT_TRUE(inside.succeeded()) << inside.stderr_text;
  ASSERT_FALSE(last_output_.ok());
  EXPECT_THAT(last_output_.status().message(), HasSubstr("is a hard link"));
}

TEST_F(SandboxTest, AForkBombStopsAtTheProcessLimit) {
  SandboxResult result = RunPython(R"(
import os, time
children = 0
while True:
    pid = os.fork()
    if pid == 0:
        time.sleep(30)
        os._exit(0)
    children += 1
)");
  EXPECT_FALSE(result.succeeded());
  EXPECT_THAT(result.stderr_text, HasSubstr("BlockingIOError"));
  EXPECT_EQ(result.reason, absl::StrCat("exited with status 1 after reaching the process limit (",
                                        Small().processes, ")"));
  EXPECT_LT(result.wall_microseconds, 15'000'000) << "failed at the limit, not at the wall time";
}

TEST_F(SandboxTest, AMemoryBombFails) {
  SandboxResult result = RunPython("x = bytearray(1 << 30)\nopen('/out/x', 'w').write('x')\n");
  EXPECT_FALSE(result.succeeded());
  EXPECT_THAT(result.stderr_text, HasSubstr("MemoryError"));
  EXPECT_EQ(result.reason, absl::StrCat("exited with status 1 after running out of memory (limit ",
                                        Small().memory_bytes >> 20, " MiB per process)"));
  EXPECT_EQ(AllOutput(), "");
}

TEST_F(SandboxTest, AHugeFileIsStoppedAtTheFileSizeLimit) {
  SandboxResult result = RunPython(
      "f = open('/out/big', 'wb')\nwhile True:\n    f.write(b'x' * 65536)\n    f.flush()\n");
  EXPECT_FALSE(result.succeeded());
  // Python ignores SIGXFSZ, so the write fails with EFBIG instead of the signal killing it.
  EXPECT_THAT(result.stderr_text, HasSubstr("File too large"));
  EXPECT_EQ(result.reason, absl::StrCat("exited with status 1 after reaching the size limit of a "
                                        "file (",
                                        Small().file_bytes, " bytes)"));
  ASSERT_TRUE(last_output_.ok());
  ASSERT_EQ(last_output_->size(), 1u);
  EXPECT_LE((*last_output_)[0].bytes.size(), size_t{1} << 20);
}

TEST_F(SandboxTest, ManyFilesOverTheOutputTotalAreStopped) {
  SandboxResult result = RunPython(R"(
import time
for i in range(1000):
    open('/out/part%d' % i, 'wb').write(b'x' * 500000)
)");
  EXPECT_FALSE(result.succeeded());
  EXPECT_EQ(result.end, SandboxEnd::kOutputTooLarge);
  EXPECT_EQ(result.reason, "output larger than 2097152 bytes");
}

TEST_F(SandboxTest, TmpIsFreshAndBounded) {
  SandboxResult fill = RunPython(
      "f = open('/tmp/fill', 'wb')\nfor i in range(100):\n    f.write(b'x' * 1000000)\n    "
      "f.flush()\n");
  EXPECT_FALSE(fill.succeeded());
  EXPECT_THAT(fill.stderr_text,
              ::testing::AnyOf(HasSubstr("No space left on device"), HasSubstr("File too large")));
  SandboxResult fresh =
      RunPython("import os\nassert os.listdir('/tmp') == [], os.listdir('/tmp')\n");
  EXPECT_TRUE(fresh.succeeded()) << fresh.stderr_text;
}

TEST_F(SandboxTest, AnInfiniteLoopIsStoppedByTheCpuLimit) {
  SandboxLimits limits = Small();
  limits.cpu_seconds = 1;
  SandboxResult result = RunPython("while True:\n    pass\n", limits);
  EXPECT_FALSE(result.succeeded());
  EXPECT_EQ(result.end, SandboxEnd::kSignaled);
  EXPECT_EQ(result.reason, "killed by signal 24 (CPU time limit)");
}

TEST_F(SandboxTest, ASleepingJobIsStoppedByTheWallTime) {
  SandboxLimits limits = Small();
  limits.wall_milliseconds = 1500;
  SandboxResult result = RunPython("import time\ntime.sleep(60)\n", limits);
  EXPECT_EQ(result.end, SandboxEnd::kWallTimeout);
  EXPECT_EQ(result.reason, "wall time limit (1500 ms) reached");
  EXPECT_LT(result.wall_microseconds, 5'000'000);
}

TEST_F(SandboxTest, OpenFilesAreLimited) {
  SandboxResult result = RunPython("fs = [open('/in/data.csv') for i in range(500)]\n");
  EXPECT_FALSE(result.succeeded());
  EXPECT_THAT(result.stderr_text, HasSubstr("Too many open files"));
  EXPECT_EQ(result.reason,
            absl::StrCat("exited with status 1 after reaching the open files limit (",
                         Small().open_files, ")"));
}

TEST_F(SandboxTest, ParleysDescriptorsAndEnvironmentDoNotReachTheJob) {
  setenv("PARLEY_TEST_SECRET", "SECRET-ENV", 1);
  std::string secret_path = home_ + "/catalog.db";
  FILE* held = fopen(secret_path.c_str(), "r");
  ASSERT_NE(held, nullptr);
  SandboxResult result = RunPython(R"(
import os
fds = sorted(int(f) for f in os.listdir('/proc/self/fd'))
open('/out/fds', 'w').write(repr(fds) + repr(os.environ.get('PARLEY_TEST_SECRET')))
)");
  fclose(held);
  unsetenv("PARLEY_TEST_SECRET");
  EXPECT_TRUE(result.succeeded()) << result.stderr_text;
  // stdin, stdout, stderr and the listing's own descriptor.
  EXPECT_EQ(AllOutput(), "[0, 1, 2, 3]None");
}

}  // namespace
}  // namespace parley::jobs
