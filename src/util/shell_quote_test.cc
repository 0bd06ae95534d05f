// ShellQuote: the command lines runs record, read back by a POSIX shell.
#include "util/shell_quote.h"

#include <gtest/gtest.h>

namespace cairn {
namespace {

TEST(ShellQuoteTest, PlainWordsStayAsTheyAre) {
  EXPECT_EQ(ShellQuote("python3"), "python3");
  EXPECT_EQ(ShellQuote("/usr/bin/python3.11"), "/usr/bin/python3.11");
  EXPECT_EQ(ShellQuote("--lr=0.1,a+b@c%d:e"), "--lr=0.1,a+b@c%d:e");
}

TEST(ShellQuoteTest, OtherWordsAreSingleQuoted) {
  EXPECT_EQ(ShellQuote(""), "''");
  EXPECT_EQ(ShellQuote("two words"), "'two words'");
  EXPECT_EQ(ShellQuote("$HOME"), "'$HOME'");
  EXPECT_EQ(ShellQuote("it's"), "'it'\\''s'");
}

TEST(ShellQuoteTest, JoinQuotesEachWord) {
  EXPECT_EQ(ShellJoin({}), "");
  EXPECT_EQ(ShellJoin({"python3", "train.py", "--name", "a b"}), "python3 train.py --name 'a b'");
}

}  // namespace
}  // namespace cairn
