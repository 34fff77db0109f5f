// The store's organisations and API tokens: created once, found by id, rotated and revoked in one
// transaction each, audited in the catalog-wide chain without hashes.
#include <unistd.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "catalog/store.h"
#include "gtest/gtest.h"

namespace parley::catalog {
namespace {

ApiToken Token(const std::string& organisation, char digit) {
  ApiToken token;
  token.id = std::string(16, digit);
  token.organisation = organisation;
  token.salt_hex = std::string(32, 'a');
  token.hash_hex = std::string(64, digit);
  return token;
}

class OrganisationsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) /
           absl::StrCat("parley_organisations_",
                        ::testing::UnitTest::GetInstance()->current_test_info()->name(), "_",
                        getpid());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    auto store = Store::Open((dir_ / "catalog.db").string(), [] { return int64_t{1000}; });
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  std::filesystem::path dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(OrganisationsTest, TheFirstOrganisationIsCreatedOnceWithItsToken) {
  ASSERT_TRUE(store_
                  ->CreateOrganisation({"operator", true}, Token("operator", '1'), "parley",
                                       /*first=*/true)
                  .ok());
  absl::Status again =
      store_->CreateOrganisation({"other", true}, Token("other", '2'), "parley", /*first=*/true);
  EXPECT_EQ(again.code(), absl::StatusCode::kFailedPrecondition) << again;
  ASSERT_TRUE(store_->CreateOrganisation({"retailer"}, Token("retailer", '3'), "operator").ok());
  EXPECT_EQ(store_->CreateOrganisation({"retailer"}, Token("retailer", '4'), "operator").code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(store_->CreateOrganisation({"bad name"}, Token("bad name", '5'), "operator").code(),
            absl::StatusCode::kInvalidArgument);

  auto organisations = store_->ListOrganisations();
  ASSERT_TRUE(organisations.ok());
  ASSERT_EQ(organisations->size(), 2u);
  EXPECT_EQ((*organisations)[0].name, "operator");
  EXPECT_TRUE((*organisations)[0].admin);
  EXPECT_EQ((*organisations)[1].name, "retailer");
  EXPECT_FALSE((*organisations)[1].admin);

  auto token = store_->GetToken(std::string(16, '3'));
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(token->organisation, "retailer");
  EXPECT_EQ(token->hash_hex, std::string(64, '3'));
  EXPECT_FALSE(token->organisation_admin);
  EXPECT_FALSE(token->revoked_at.has_value());
  EXPECT_EQ(store_->GetToken(std::string(16, '4')).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(OrganisationsTest, RotationIssuesANewTokenAndRevokesTheOldInOneStep) {
  ASSERT_TRUE(store_->CreateOrganisation({"retailer"}, Token("retailer", '1'), "parley").ok());
  ASSERT_TRUE(store_->CreateOrganisation({"supplier"}, Token("supplier", '2'), "parley").ok());
  // Another organisation's token cannot be revoked by rotation; nothing is issued then.
  EXPECT_EQ(store_->IssueToken(Token("retailer", '3'), "retailer", std::string(16, '2')).code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->GetToken(std::string(16, '3')).status().code(), absl::StatusCode::kNotFound);

  ASSERT_TRUE(store_->IssueToken(Token("retailer", '3'), "retailer", std::string(16, '1')).ok());
  EXPECT_TRUE(store_->GetToken(std::string(16, '1'))->revoked_at.has_value());
  EXPECT_FALSE(store_->GetToken(std::string(16, '3'))->revoked_at.has_value());
  EXPECT_EQ(store_->RevokeToken("retailer", std::string(16, '1'), "retailer").code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->RevokeToken("retailer", std::string(16, '2'), "retailer").code(),
            absl::StatusCode::kNotFound);
  ASSERT_TRUE(store_->RevokeToken("retailer", std::string(16, '3'), "retailer").ok());

  auto entries = store_->ListAudit("");
  ASSERT_TRUE(entries.ok());
  std::vector<std::string> actions;
  for (const AuditEntry& entry : *entries) {
    actions.push_back(entry.action);
    // The log names token ids, never their hashes or salts.
    EXPECT_EQ(entry.details_json.find(std::string(64, '1')), std::string::npos);
    EXPECT_EQ(entry.details_json.find(std::string(32, 'a')), std::string::npos);
  }
  EXPECT_EQ(actions, (std::vector<std::string>{"organisation.create", "organisation.create",
                                               "token.issue", "token.revoke"}));
  EXPECT_EQ((*entries)[2].details_json,
            absl::StrCat(R"({"organisation":"retailer","revoked_token_id":")", std::string(16, '1'),
                         R"(","token_id":")", std::string(16, '3'), R"("})"));
  auto verified = store_->VerifyAudit();
  ASSERT_TRUE(verified.ok());
  EXPECT_TRUE(verified->ok) << verified->problem;
}

}  // namespace
}  // namespace parley::catalog
