#include "identity/access.h"

#include <gtest/gtest.h>

namespace parley::identity {
namespace {

TEST(AbilitySetTest, NamesEachAbilityOnceAndParsesThemBack) {
  EXPECT_EQ(AbilitySet{}.ToString(), "none");
  EXPECT_EQ((AbilitySet{Ability::kReceive, Ability::kQuery}).ToString(), "query, receive");
  EXPECT_EQ(AbilitySet::FromFlags(false, true), AbilitySet{Ability::kReceive});
  EXPECT_EQ(ParseAbility("query"), Ability::kQuery);
  EXPECT_EQ(ParseAbility("Query"), std::nullopt);
  AbilitySet set{Ability::kQuery};
  set.Remove(Ability::kQuery);
  EXPECT_TRUE(set.empty());
}

TEST(RequireTest, MessagesNameTheRuleThatRefused) {
  Room room{"room",
            "creator",
            {{"creator", {Ability::kQuery}, true, "active"},
             {"left", {Ability::kQuery}, false, "left"},
             {"reader", {Ability::kReceive}, true, "active"}}};
  EXPECT_EQ(Require(Caller::Embedded("nobody"), room, Action::kView).message(),
            "'nobody' is not a member of collaboration 'room'");
  EXPECT_EQ(Require(Caller::Embedded("left"), room, Action::kView).message(),
            "member 'left' is left in collaboration 'room', not active");
  EXPECT_EQ(Require(Caller::Embedded("reader"), room, Action::kQuery).message(),
            "member 'reader' does not have the 'query' ability in collaboration 'room' "
            "(abilities: receive)");
  EXPECT_EQ(Require(Caller::Embedded("reader"), room, Action::kSetRule,
                    {.table = "t", .table_owner = "creator"})
                .message(),
            "only the owner of table 't' ('creator') can set its rule");
  EXPECT_EQ(Require(Caller::Embedded("creator"), room, Action::kRemoveMember, {.member = "creator"})
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Receivers(Caller::Embedded("creator"), room, {}).status().message(),
            "member 'creator' cannot receive results; name a receiver with the 'receive' "
            "ability");
  EXPECT_EQ(*Receivers(Caller::Embedded("creator"), room, {"reader"}),
            std::vector<std::string>{"reader"});
}

// A caller with a token who may not see a room is told what a room that does not exist answers
// (the store's NotFound, word for word), whether it never was, was removed or left.
TEST(RequireTest, TokenCallersWhoMayNotSeeARoomLearnNotEvenThatItExists) {
  Room room{
      "room",
      "creator",
      {{"creator", {Ability::kQuery}, true, "active"}, {"left", {Ability::kQuery}, false, "left"}}};
  for (const char* name : {"nobody", "left"}) {
    absl::Status status =
        Require(Caller::Token(name, "0123456789abcdef", false), room, Action::kView);
    EXPECT_EQ(status.code(), absl::StatusCode::kNotFound) << name;
    EXPECT_EQ(status.message(), "collaboration 'room' not found") << name;
    EXPECT_FALSE(MayView(Caller::Token(name, "0123456789abcdef", false), room));
  }
  EXPECT_TRUE(
      Require(Caller::Token("creator", "0123456789abcdef", false), room, Action::kView).ok());
  // An active member without the right is still told why (it sees the room anyway).
  EXPECT_EQ(Require(Caller::Token("creator", "0123456789abcdef", false), room, Action::kSetRule,
                    {.table = "t", .table_owner = "left"})
                .code(),
            absl::StatusCode::kPermissionDenied);
}

}  // namespace
}  // namespace parley::identity
