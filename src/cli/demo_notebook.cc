// The demo's notebook step (issue 12, §3): the reference story's second half. The retailer shares
// its audience graph with approved code only (a second table over the same file, under a custom
// rule that names the job), registers its private segmentation library as an asset and adds a
// notebook that clusters the shared households (k-means over age, income and household size).
// The supplier reads the notebook's cells, approves it for its member list, runs it in the
// sandbox and receives a chart (PNG) and a segment table (CSV), never a row or the library. The
// segment counts add up to the total the checked SQL query found; the demo says so, or fails.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <ostream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "api/jobs.h"
#include "cli/backend.h"
#include "cli/demo.h"
#include "cli/output.h"

namespace parley::cli {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

constexpr char kCollaboration[] = "campaign";

// The retailer's private library: how it turns bands into numbers, clusters and names segments.
// The supplier never sees these bytes; the notebook that uses them is what it reviews.
constexpr char kLibrary[] =
    R"py("""The retailer's audience segmentation (private to the retailer)."""
import numpy as np

AGE_YEARS = {"18-24": 21.0, "25-34": 29.5, "35-44": 39.5, "45-54": 49.5, "55-64": 59.5,
             "65+": 72.0}
INCOME_K = {"<50k": 35.0, "50-100k": 75.0, "100-150k": 125.0, "150k+": 180.0}


def features(frame):
    """Age in years, income in thousands and household size, one row per household."""
    return np.column_stack([
        frame["age_band"].map(AGE_YEARS).fillna(45.0).to_numpy(dtype=float),
        frame["income_bracket"].map(INCOME_K).fillna(75.0).to_numpy(dtype=float),
        frame["household_size"].fillna(2).to_numpy(dtype=float),
    ])


def _name(age, income, size):
    life = "young" if age < 35 else ("mid-life" if age < 55 else "senior")
    money = "budget" if income < 70 else ("comfortable" if income < 120 else "affluent")
    home = "singles" if size < 1.6 else ("couples" if size < 2.6 else "families")
    return f"{life} {money} {home}"


def segment(frame, k=5, seed=7, sample=50_000):
    """Labels (0..k-1, largest segment first) and one (name, age, income, size) per segment.

    k-means is fitted on a seeded sample of standardised features and applied to every
    household, so a million households take seconds and the same data gives the same segments.
    """
    from sklearn.cluster import KMeans
    x = features(frame)
    if len(x) == 0:
        return np.zeros(0, dtype=int), []
    k = min(k, len(np.unique(x, axis=0)))
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    z = (x - mean) / scale
    rng = np.random.default_rng(seed)
    fit_on = z[rng.choice(len(z), size=min(sample, len(z)), replace=False)]
    model = KMeans(n_clusters=k, n_init=4, random_state=seed).fit(fit_on)
    raw = model.predict(z)
    order = np.argsort(-np.bincount(raw, minlength=k), kind="stable")
    relabel = np.empty(k, dtype=int)
    relabel[order] = np.arange(k)
    labels = relabel[raw]
    centres = model.cluster_centers_[order] * scale + mean
    return labels, [(_name(*c), *c) for c in centres]
)py";

// The notebook's cells: markdown for the reviewer, code that reads only /in and writes only /out.
const char* const kCells[][2] = {
    {"markdown",
     "# Shared households by audience segment\n"
     "The retailer's private library `parley_segments` clusters the households both partners\n"
     "share (k-means over age, income and household size). Outputs: `segments.csv` (one row per\n"
     "segment: its name, households and centre) and `segments.png` (the chart). No household\n"
     "identifier or e-mail hash leaves the sandbox."},
    {"code",
     "import matplotlib\n"
     "matplotlib.use('Agg')  # no display in the sandbox\n"
     "import matplotlib.pyplot as plt\n"
     "import pandas as pd\n"
     "import parley_segments\n"
     "\n"
     "households = pd.read_csv('/in/households.csv', dtype={'hashed_email': str})\n"
     "members = pd.read_csv('/in/loyalty_members.csv', dtype=str)['hashed_email'].dropna()\n"
     "# The households whose e-mail hash the supplier also holds, each once.\n"
     "shared = households[households['hashed_email'].notna() &\n"
     "                    "
     "households['hashed_email'].isin(members)].drop_duplicates('household_id')\n"
     "print(f'{len(shared):,} shared households')"},
    {"code",
     "labels, centres = parley_segments.segment(shared)\n"
     "counts = pd.Series(labels).value_counts().reindex(range(len(centres)), fill_value=0)\n"
     "segments = pd.DataFrame({\n"
     "    'segment': [c[0] for c in centres],\n"
     "    'households': counts.to_numpy(),\n"
     "    'mean_age': [round(c[1], 1) for c in centres],\n"
     "    'mean_income_k': [round(c[2], 1) for c in centres],\n"
     "    'mean_household_size': [round(c[3], 2) for c in centres],\n"
     "})\n"
     "segments.to_csv('/out/segments.csv', index=False)\n"
     "segments[['segment', 'households']]"},
    {"code",
     "fig, ax = plt.subplots(figsize=(8, 4.5))\n"
     "ax.barh(segments['segment'][::-1], segments['households'][::-1], color='#2a6f97')\n"
     "ax.set_xlabel('targetable households')\n"
     "ax.set_title(f'{int(segments.households.sum()):,} shared households by segment')\n"
     "for y, value in enumerate(segments['households'][::-1]):\n"
     "    ax.text(value, y, f' {value:,}', va='center')\n"
     "fig.tight_layout()\n"
     "fig.savefig('/out/segments.png', dpi=100)\n"
     "plt.close(fig)"},
};

std::string NotebookJson() {
  Json cells = Json::array();
  for (const auto& [kind, source] : kCells) {
    Json cell = {{"cell_type", kind},
                 {"id", absl::StrCat("cell-", cells.size() + 1)},
                 {"metadata", Json::object()}};
    std::vector<std::string> lines = absl::StrSplit(source, '\n');
    Json text = Json::array();
    for (size_t i = 0; i < lines.size(); ++i) {
      text.push_back(i + 1 < lines.size() ? lines[i] + "\n" : lines[i]);
    }
    cell["source"] = text;
    if (std::string(kind) == "code") {
      cell["execution_count"] = nullptr;
      cell["outputs"] = Json::array();
    }
    cells.push_back(cell);
  }
  Json notebook = {
      {"cells", cells},
      {"metadata",
       {{"kernelspec", {{"name", "python3"}, {"display_name", "Python 3"}, {"language", "python"}}},
        {"language_info", {{"name", "python"}}}}},
      {"nbformat", 4},
      {"nbformat_minor", 5}};
  return notebook.dump(1) + "\n";
}

// A table as its owner shares it with approved jobs only (no SQL: the custom rule allows no
// analysis); the e-mail hash may never appear in an output (the output guard).
constexpr char kJobOnlyRule[] = R"({"kind": "custom", "never_output": ["hashed_email"]})";

absl::Status WriteText(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("cannot write '", path.string(), "'"));
  return absl::OkStatus();
}

// The segment table's rows: (segment, households). InvalidArgument when it is not the CSV the
// notebook writes.
absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> Segments(const std::string& csv) {
  std::vector<std::pair<std::string, int64_t>> rows;
  std::istringstream lines(csv);
  std::string line;
  if (!std::getline(lines, line) || line.rfind("segment,households,", 0) != 0) {
    return absl::InvalidArgumentError("segments.csv does not start with segment,households");
  }
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    std::vector<std::string> cells = absl::StrSplit(line, ',');
    int64_t households = 0;
    if (cells.size() < 2 || !absl::SimpleAtoi(cells[1], &households)) {
      return absl::InvalidArgumentError("segments.csv has a row without a household count");
    }
    rows.emplace_back(cells[0], households);
  }
  return rows;
}

}  // namespace

absl::Status RunDemoNotebookStep(Backend& retailer, Backend& supplier, const std::string& home,
                                 const std::string& data, int64_t sql_total, std::ostream& out) {
  DemoStep(out, "retailer", "adds its private segmentation library and a notebook that uses it");
  // A folder asset is on the job's PYTHONPATH: `import parley_segments` finds the module.
  fs::path library = fs::path(data) / "segmentation-library";
  fs::create_directories(library);
  PARLEY_RETURN_IF_ERROR(WriteText(library / "parley_segments.py", kLibrary));
  PARLEY_ASSIGN_OR_RETURN(
      api::RegisterAssetResponse asset,
      retailer.RegisterAsset({kCollaboration, "parley_segments", "library", library.string(),
                              "audience segmentation (k-means over age, income, household size)",
                              false}));
  out << "asset parley_segments: " << asset.asset.kind << ", " << asset.asset.bytes
      << " bytes, sha256 " << asset.asset.sha256.substr(0, 12)
      << " (the supplier sees this, never the bytes)\n";
  api::CreateJobRequest create;
  create.collaboration = kCollaboration;
  create.name = "audience segments";
  create.code_name = "segments.ipynb";
  create.code = NotebookJson();
  create.inputs = {
      {"households",
       {"household_id", "hashed_email", "age_band", "income_bracket", "household_size"}},
      {"loyalty_members", {"hashed_email"}}};
  create.assets = {"parley_segments"};
  // The tables the notebook reads: the same files, shared with approved jobs only.
  PARLEY_RETURN_IF_ERROR(
      retailer
          .AddTable({kCollaboration, "households", (fs::path(data) / "retail.parquet").string(),
                     create.inputs[0].columns})
          .status());
  PARLEY_RETURN_IF_ERROR(
      retailer.SetRule({kCollaboration, "households", Json::parse(kJobOnlyRule), {}}).status());
  PARLEY_RETURN_IF_ERROR(
      supplier
          .AddTable({kCollaboration, "loyalty_members",
                     (fs::path(data) / "loyalty.parquet").string(), create.inputs[1].columns})
          .status());
  PARLEY_RETURN_IF_ERROR(
      supplier.SetRule({kCollaboration, "loyalty_members", Json::parse(kJobOnlyRule), {}})
          .status());
  PARLEY_ASSIGN_OR_RETURN(api::CreateJobResponse job, retailer.CreateJob(create));
  const std::string& id = job.job.id;
  PARLEY_RETURN_IF_ERROR(retailer.ApproveJob({kCollaboration, id, "households"}).status());
  PARLEY_RETURN_IF_ERROR(retailer.ApproveJob({kCollaboration, id, "parley_segments"}).status());
  out << "job " << ShortId(id)
      << " (segments.ipynb) reads households(household_id, "
         "hashed_email, age_band, income_bracket, household_size), loyalty_members(hashed_email) "
         "and asset parley_segments; the retailer approves it for its table and library\n";

  DemoStep(out, "supplier", "inspects the notebook's cells, approves it and runs it");
  PARLEY_ASSIGN_OR_RETURN(api::ShowJobResponse shown, supplier.ShowJob({kCollaboration, id}));
  // Its first code cell, as `job show` presents it.
  size_t first_code = shown.job.code_text.find("# [code");
  std::istringstream code(
      shown.job.code_text.substr(first_code == std::string::npos ? 0 : first_code));
  std::string line;
  for (int shown_lines = 0; shown_lines < 12 && std::getline(code, line); ++shown_lines) {
    out << "  | " << line << "\n";
  }
  out << "  | ... (parley job show " << ShortId(id) << " prints every cell)\n";
  PARLEY_RETURN_IF_ERROR(supplier.ApproveJob({kCollaboration, id, "loyalty_members"}).status());
  PARLEY_ASSIGN_OR_RETURN(api::RunJobResponse ran, supplier.RunJob({kCollaboration, id, {}, {}}));
  if (ran.run.status != "succeeded") {
    return absl::InternalError(absl::StrCat("the demo's notebook did not succeed: ", ran.run.status,
                                            " (", ran.run.reason, ")"));
  }
  fs::path results = fs::path(home) / "demo-results";
  fs::create_directories(results);
  std::string table;
  std::vector<std::string> received;
  for (const api::JobOutput& output : ran.run.outputs) {
    if (!output.content_base64) continue;
    PARLEY_ASSIGN_OR_RETURN(std::string bytes, api::Base64Decode(*output.content_base64));
    std::string name = fs::path(output.name).filename().string();
    PARLEY_RETURN_IF_ERROR(WriteText(results / name, bytes));
    if (name == "segments.csv") table = bytes;
    received.push_back(name);
  }
  PARLEY_ASSIGN_OR_RETURN(auto segments, Segments(table));
  int64_t total = 0;
  size_t widest = 0;
  int64_t largest = 1;
  for (const auto& [name, households] : segments) {
    total += households;
    widest = std::max(widest, name.size());
    largest = std::max(largest, households);
  }
  out << "job run " << ran.run.run_id << ": succeeded in " << std::fixed << std::setprecision(1)
      << ran.run.wall_micros / 1e6 << " s; the supplier received " << absl::StrJoin(received, ", ")
      << "\n";
  for (const auto& [name, households] : segments) {
    out << "  " << std::setw(static_cast<int>(widest)) << std::left << name << " "
        << std::string(static_cast<size_t>(40 * households / largest), '#') << " "
        << WithThousands(households) << "\n";
  }
  out << "  " << std::setw(static_cast<int>(widest)) << std::left << "total"
      << " " << WithThousands(total) << " households"
      << (total == sql_total ? " (equal to the SQL campaign query's total)\n"
                             : " (DIFFERENT from the SQL campaign query's total)\n");
  out << "chart: " << (results / "segments.png").string() << "\n"
      << "table: " << (results / "segments.csv").string() << "\n";
  if (total != sql_total) {
    return absl::InternalError(absl::StrCat("the notebook's segments add up to ", total,
                                            " households, the SQL query counted ", sql_total));
  }
  return absl::OkStatus();
}

}  // namespace parley::cli
