// `wattrun predict` finds the run's data sets: in --store, else in the store
// the run recorded in results.h5, else in MODEL/store.h5, else among
// BUTTER-E's; a data set found nowhere is an error naming the paths tried.
#include <gtest/gtest.h>
#include <mpi.h>

#include <filesystem>
#include <string>

#include "core/error.h"
#include "core/mpi.h"
#include "pipeline/commands.h"
#include "stages/model/energy_model.h"
#include "stages/results/results.h"
#include "store/store.h"
#include "tests/test_util.h"

namespace wattrun::pipeline {
namespace {
namespace fs = std::filesystem;

// A fresh directory, removed when the test ends (also when it fails).
testing_util::ScratchDir TempDir(const std::string& name) {
  return testing_util::ScratchDir("wattrun_predict_" + name);
}

// A catalogue with one data set of the user's, not among BUTTER-E's.
void WriteStoreWith(const fs::path& store, const DatasetRecord& dataset) {
  fs::create_directories(store.parent_path());
  store::Catalogue catalogue;
  catalogue.datasets.push_back(dataset);
  store::WriteCatalogue(store.string(), catalogue);
}

// A results directory with a fitted cpu model (Table 4) and, in results.h5,
// the store path the run recorded ("" for a run from before the record).
void WriteResultsDir(const fs::path& dir, const std::string& recorded_store) {
  results::PipelineResults r;
  r.store_path = recorded_store;
  results::ModelResult m;
  m.hardware_class = "cpu";
  m.fitted = true;
  const auto names = model::ParameterNames(4);
  const auto values = model::Table4Parameters(false);
  for (std::size_t j = 0; j < names.size(); ++j) {
    results::ModelParameterRow p;
    p.parameter = names[j];
    p.value = values[j];
    m.parameters.push_back(p);
  }
  r.models.push_back(m);
  fs::create_directories(dir);
  results::WriteResults(r, dir.string());
}

PredictArgs Args(const fs::path& model_dir, const std::string& dataset) {
  PredictArgs a;
  a.model_dir = model_dir.string();
  a.dataset = dataset;
  a.shape = "rectangle";
  a.depth = 3;
  a.size = 1024;
  a.hardware = "cpu";
  return a;
}

// The command's output, or "error: <message>".
std::string Predict(const PredictArgs& args) {
  const Comm comm(MPI_COMM_SELF);
  ::testing::internal::CaptureStdout();
  try {
    PredictCommand(args, comm);
  } catch (const Error& e) {
    ::testing::internal::GetCapturedStdout();
    return std::string("error: ") + e.what();
  }
  std::fflush(stdout);
  return ::testing::internal::GetCapturedStdout();
}

const DatasetRecord kUsers{"lab_sensors", 5000, 17, 3, "classification"};
const std::string kFromUsers = "data: 17 inputs, 3 outputs, 5000 observations (lab_sensors from ";

TEST(PredictCommand, UsesTheStoreRecordedInResults) {
  const auto scratch = TempDir("recorded");
  const fs::path& root = scratch.path();
  const fs::path store = root / "elsewhere" / "store.h5";
  WriteStoreWith(store, kUsers);
  WriteResultsDir(root / "results", store.string());
  const std::string out = Predict(Args(root / "results", "lab_sensors"));
  EXPECT_NE(out.find(kFromUsers + store.string() + ")"), std::string::npos) << out;
}

TEST(PredictCommand, ExplicitStoreWinsOverTheRecordedOne) {
  const auto scratch = TempDir("explicit");
  const fs::path& root = scratch.path();
  const fs::path recorded = root / "recorded" / "store.h5";
  WriteStoreWith(recorded, {"lab_sensors", 10, 1, 1, "regression"});
  const fs::path given = root / "given" / "store.h5";
  WriteStoreWith(given, kUsers);
  WriteResultsDir(root / "results", recorded.string());
  PredictArgs args = Args(root / "results", "lab_sensors");
  args.store = given.string();
  const std::string out = Predict(args);
  EXPECT_NE(out.find(kFromUsers + given.string() + ")"), std::string::npos) << out;

  args.store = (root / "missing.h5").string();
  EXPECT_EQ(Predict(args), "error: --store " + args.store + ": no such file");
}

TEST(PredictCommand, FallsBackToTheStoreBesideTheResults) {
  const auto scratch = TempDir("beside");
  const fs::path& root = scratch.path();
  WriteStoreWith(root / "results" / "store.h5", kUsers);
  // A results.h5 from before the record, and one whose recorded store moved.
  for (const std::string& recorded : {std::string(), (root / "moved" / "store.h5").string()}) {
    WriteResultsDir(root / "results", recorded);
    const std::string out = Predict(Args(root / "results", "lab_sensors"));
    EXPECT_NE(out.find(kFromUsers + (root / "results" / "store.h5").string() + ")"), std::string::npos) << out;
  }
}

TEST(PredictCommand, NoStoreNamesThePathsTried) {
  const auto scratch = TempDir("none");
  const fs::path& root = scratch.path();
  const std::string moved = (root / "moved" / "store.h5").string();
  WriteResultsDir(root / "results", moved);
  const std::string out = Predict(Args(root / "results", "lab_sensors"));
  EXPECT_EQ(out, "error: data set 'lab_sensors' is neither in a store (none found; tried " + moved + " (recorded in " +
                     (root / "results" / "results.h5").string() + "), " + (root / "results" / "store.h5").string() +
                     ") nor among BUTTER-E's; give --store STORE.h5, or --inputs, --outputs and --observations");

  // BUTTER-E's data sets need no store.
  const std::string mnist = Predict(Args(root / "results", "mnist"));
  EXPECT_NE(mnist.find("data: 784 inputs, 10 outputs, 70000 observations (mnist from BUTTER-E's list)"),
            std::string::npos)
      << mnist;
}

TEST(PredictCommand, JsonHoldsTheSameNumbersAsTheText) {
  const auto scratch = TempDir("json");
  const fs::path root = scratch.path();
  const fs::path store = root / "store.h5";
  WriteStoreWith(store, kUsers);
  WriteResultsDir(root / "results", store.string());
  PredictArgs args = Args(root / "results", "lab_sensors");
  const std::string text = Predict(args);
  args.json = true;
  const std::string out = Predict(args);
  ASSERT_GT(out.size(), 2u) << out;
  EXPECT_EQ(out.front(), '{');
  EXPECT_EQ(out.substr(out.size() - 2), "}\n");
  EXPECT_EQ(out.find("network:"), std::string::npos);  // no text around it
  EXPECT_NE(out.find("\"network\": {\"shape\": \"rectangle\", \"depth\": 3, \"size\": 1024, \"widths\": ["),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("\"data\": {\"inputs\": 17, \"outputs\": 3, \"observations\": 5000, \"source\": "
                     "\"lab_sensors from " +
                     store.string() + "\", \"epochs\": 3000, \"batch_size\": 256}"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("\"hardware\": \"cpu\", \"energy_j\": "), std::string::npos) << out;
  // The parameter count of the text, "(N parameters)", is the JSON's.
  const auto open = text.find(" parameters)");
  ASSERT_NE(open, std::string::npos) << text;
  const std::string n_params = text.substr(text.rfind('(', open) + 1, open - text.rfind('(', open) - 1);
  EXPECT_NE(out.find("\"parameters\": " + n_params + "}"), std::string::npos) << n_params << "\n" << out;
  EXPECT_NE(out.find("\"working_sets\": [{\"name\": "), std::string::npos) << out;
  EXPECT_NE(out.find("\"sizes\": [{\"size\": 32, "), std::string::npos) << out;
  EXPECT_NE(out.find("\"efficient\": "), std::string::npos) << out;
}

}  // namespace
}  // namespace wattrun::pipeline
