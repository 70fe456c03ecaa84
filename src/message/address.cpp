// address — an RFC 5322 address-list parser (section 3.4 and the obsolete forms of 4.4).
//
// Our own rather than mimetic's: mimetic reads "Group: a@example.com;" as mailbox "Group:a"
// at domain "example.com;" (DEPENDENCIES.md, section 7), keeps quotes in display names and
// decodes no RFC 2047 words, and DMARC needs the From domain exactly right.

#include "relaygate/message.hpp"

namespace relaygate {
namespace {

// 64 MiB of "a@b," would otherwise become millions of mailboxes; no real list comes close.
constexpr std::size_t kMaxMailboxes = 100000;
// Attacker text quoted in a problem line is cut to this length.
constexpr std::size_t kMaxQuotedBytes = 100;

enum class TokenKind { atom, quoted, literal, special };

struct Token {
    TokenKind kind = TokenKind::atom;
    std::string_view raw;    // as written (quoted strings with their quotes)
    std::string unquoted;    // the content of a quoted string, escapes undone
    bool space_before = false;
    char special = 0;
};

bool is_wsp_or_line_end(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

bool is_special(char c)
{
    switch (c) {
    case '(': case ')': case '<': case '>': case '[': case ']': case ':': case ';':
    case '@': case '\\': case ',': case '.': case '"':
        return true;
    default:
        return false;
    }
}

std::string quote_for_problem(std::string_view text)
{
    if (text.size() <= kMaxQuotedBytes)
        return std::string(text);
    return std::string(text.substr(0, kMaxQuotedBytes)) + "...";
}

// Splits an address list into atoms, quoted strings, domain literals and specials; comments
// and whitespace only mark the next token as preceded by space. Unbalanced quotes, comments
// and literals end at the end of the text and are reported through problem.
class Tokenizer {
public:
    Tokenizer(std::string_view text, std::string& problem) : text_(text), problem_(problem) {}

    std::vector<Token> run()
    {
        std::vector<Token> tokens;
        bool space = false;
        while (pos_ < text_.size()) {
            char c = text_[pos_];
            if (is_wsp_or_line_end(c)) {
                space = true;
                ++pos_;
            } else if (c == '(') {
                skip_comment();
                space = true;
            } else if (c == '"') {
                tokens.push_back(read_quoted(space));
                space = false;
            } else if (c == '[') {
                tokens.push_back(read_delimited(TokenKind::literal, ']', space,
                                                "unbalanced [ in domain literal"));
                space = false;
            } else if (c == ')' || c == ']' || c == '\\') {
                note(std::string("unbalanced ") + c);
                ++pos_;
            } else if (is_special(c)) {
                Token token;
                token.kind = TokenKind::special;
                token.raw = text_.substr(pos_, 1);
                token.special = c;
                token.space_before = space;
                tokens.push_back(std::move(token));
                space = false;
                ++pos_;
            } else {
                tokens.push_back(read_atom(space));
                space = false;
            }
        }
        return tokens;
    }

private:
    void note(std::string problem)
    {
        if (problem_.empty())
            problem_ = std::move(problem);
    }

    // Comments nest (RFC 5322 section 3.2.2); a counter instead of recursion keeps hostile
    // nesting off the stack.
    void skip_comment()
    {
        std::size_t depth = 0;
        for (; pos_ < text_.size(); ++pos_) {
            char c = text_[pos_];
            if (c == '\\') {
                ++pos_;
            } else if (c == '(') {
                ++depth;
            } else if (c == ')') {
                if (--depth == 0) {
                    ++pos_;
                    return;
                }
            }
        }
        note("unbalanced ( in comment");
    }

    Token read_quoted(bool space)
    {
        Token token;
        token.kind = TokenKind::quoted;
        token.space_before = space;
        std::size_t begin = pos_++;
        bool closed = false;
        for (; pos_ < text_.size(); ++pos_) {
            char c = text_[pos_];
            if (c == '\\' && pos_ + 1 < text_.size()) {
                token.unquoted += text_[++pos_];
            } else if (c == '"') {
                closed = true;
                ++pos_;
                break;
            } else if (c != '\r' && c != '\n') {
                token.unquoted += c;
            }
        }
        if (!closed)
            note("unterminated quoted string");
        token.raw = text_.substr(begin, pos_ - begin);
        return token;
    }

    Token read_delimited(TokenKind kind, char close, bool space, const char* problem)
    {
        Token token;
        token.kind = kind;
        token.space_before = space;
        std::size_t begin = pos_;
        std::size_t end = text_.find(close, pos_);
        if (end == std::string_view::npos) {
            note(problem);
            pos_ = text_.size();
        } else {
            pos_ = end + 1;
        }
        token.raw = text_.substr(begin, pos_ - begin);
        return token;
    }

    Token read_atom(bool space)
    {
        Token token;
        token.kind = TokenKind::atom;
        token.space_before = space;
        std::size_t begin = pos_;
        while (pos_ < text_.size() && !is_special(text_[pos_]) &&
               !is_wsp_or_line_end(text_[pos_]))
            ++pos_;
        token.raw = text_.substr(begin, pos_ - begin);
        return token;
    }

    std::string_view text_;
    std::string& problem_;
    std::size_t pos_ = 0;
};

// Recursive descent over the tokens, one method per grammar rule; groups cannot nest, so the
// depth is bounded by the grammar rather than by the input.
class AddressParser {
public:
    AddressParser(std::vector<Token> tokens, AddressList& out)
        : tokens_(std::move(tokens)), out_(out) {}

    void parse_list()
    {
        while (!at_end()) {
            if (is(',')) {
                ++pos_;  // obs-addr-list allows empty elements
                continue;
            }
            parse_address(false);
            if (is('>')) {
                problem("unbalanced >");
                ++pos_;
            } else if (!at_end() && !is(',')) {
                problem("unexpected \"" + quote_for_problem(current().raw) +
                        "\" after an address");
                skip_to(",", false);
            }
        }
        if (out_.mailboxes.empty() && groups_ == 0)
            problem("no address");
    }

private:
    bool at_end() const { return pos_ >= tokens_.size(); }
    const Token& current() const { return tokens_[pos_]; }
    bool is(char special) const
    {
        return !at_end() && current().kind == TokenKind::special && current().special == special;
    }
    bool is_word() const
    {
        return !at_end() && (current().kind == TokenKind::atom ||
                             current().kind == TokenKind::quoted);
    }

    void problem(std::string text)
    {
        out_.valid = false;
        if (out_.problem.empty())
            out_.problem = std::move(text);
    }

    // Moves to the next of the given specials (or to the end); stops at ';' inside a group.
    void skip_to(std::string_view specials, bool in_group)
    {
        while (!at_end()) {
            if (current().kind == TokenKind::special &&
                (specials.find(current().special) != std::string_view::npos ||
                 (in_group && current().special == ';')))
                return;
            ++pos_;
        }
    }

    // The raw text of tokens [begin, end), spaces where the input had them.
    std::string text_of(std::size_t begin, std::size_t end, bool unquote) const
    {
        std::string text;
        for (std::size_t i = begin; i < end; ++i) {
            const Token& token = tokens_[i];
            if (i > begin && token.space_before)
                text += ' ';
            if (unquote && token.kind == TokenKind::quoted)
                text += token.unquoted;
            else
                text += token.raw;
        }
        return text;
    }

    // address = mailbox / group; a phrase is read first because both may start with one.
    void parse_address(bool in_group)
    {
        std::size_t phrase_begin = pos_;
        while (is_word() || is('.'))
            ++pos_;
        std::size_t phrase_end = pos_;

        if (is(':')) {
            if (in_group) {
                problem("a group inside a group");
                ++pos_;
                return;
            }
            parse_group(text_of(phrase_begin, phrase_end, true));
        } else if (is('<')) {
            ++pos_;
            parse_angle_addr(decode_encoded_words(text_of(phrase_begin, phrase_end, true)));
        } else if (is('@') && angle_ahead() != tokens_.size()) {
            // "ceo@bank.example <x@evil.example>": mail programs show the first part and
            // write to the second, so the address is the one in angle brackets.
            std::size_t angle = angle_ahead();
            std::string name = text_of(phrase_begin, angle, true);
            problem("display name \"" + quote_for_problem(name) + "\" holds an unquoted @");
            pos_ = angle + 1;
            parse_angle_addr(decode_encoded_words(name));
        } else if (is('@')) {
            pos_ = local_part_begin(phrase_begin, phrase_end);
            if (pos_ != phrase_begin)
                problem("address \"" + quote_for_problem(text_of(phrase_begin, phrase_end, false)) +
                        "@...\" has words before its local part and no angle brackets");
            parse_addr_spec("");
        } else if (phrase_end > phrase_begin) {
            problem("address \"" + quote_for_problem(text_of(phrase_begin, phrase_end, false)) +
                    "\" has no domain");
        } else if (is('>')) {
            problem("unbalanced >");
            ++pos_;
        } else if (!at_end() && !is(',') && !(in_group && is(';'))) {
            problem("unexpected \"" + quote_for_problem(current().raw) + "\" in address list");
            ++pos_;
        }
    }

    // The index of a '<' before the next ',' or ';' (the end of tokens_ when there is none).
    std::size_t angle_ahead() const
    {
        for (std::size_t i = pos_; i < tokens_.size(); ++i) {
            const Token& token = tokens_[i];
            if (token.kind != TokenKind::special)
                continue;
            if (token.special == '<')
                return i;
            if (token.special == ',' || token.special == ';')
                break;
        }
        return tokens_.size();
    }

    // Where the local part of "words before local.part@domain" starts: after the last two
    // words with no dot between them (a phrase written without angle brackets).
    std::size_t local_part_begin(std::size_t begin, std::size_t end) const
    {
        std::size_t start = begin;
        for (std::size_t i = begin + 1; i < end; ++i) {
            bool word_after_word = tokens_[i].kind != TokenKind::special &&
                                   tokens_[i - 1].kind != TokenKind::special;
            if (word_after_word)
                start = i;
        }
        return start;
    }

    // group = display-name ":" [group-list] ";"
    void parse_group(const std::string& name)
    {
        ++pos_;
        ++groups_;
        while (!at_end() && !is(';')) {
            if (is(',')) {
                ++pos_;
                continue;
            }
            parse_address(true);
            if (!at_end() && !is(',') && !is(';')) {
                problem("unexpected \"" + quote_for_problem(current().raw) + "\" in group");
                skip_to(",", true);
            }
        }
        if (is(';'))
            ++pos_;
        else
            problem("group \"" + quote_for_problem(name) + "\" is not closed with ;");
    }

    // angle-addr = "<" [obs-route] addr-spec ">"
    void parse_angle_addr(const std::string& display_name)
    {
        if (is('>')) {
            problem("empty address <>");
            ++pos_;
            return;
        }
        if (is('@')) {
            // obs-route "@a,@b:" names relays and is ignored (RFC 5322 section 4.4).
            skip_to(":>", false);
            if (is(':'))
                ++pos_;
        }
        parse_addr_spec(display_name);
        if (is('>')) {
            ++pos_;
            return;
        }
        problem("missing > after address");
    }

    // addr-spec = local-part "@" domain, with the obsolete CFWS around dots allowed.
    void parse_addr_spec(const std::string& display_name)
    {
        std::size_t local_begin = pos_;
        while (is_word() || is('.'))
            ++pos_;
        std::string local_part;
        for (std::size_t i = local_begin; i < pos_; ++i)
            local_part += tokens_[i].raw;

        if (!is('@')) {
            problem(local_part.empty() ? "address expected"
                                       : "address \"" + quote_for_problem(local_part) +
                                             "\" has no domain");
            return;
        }
        ++pos_;

        std::string domain;
        if (!at_end() && current().kind == TokenKind::literal) {
            domain = current().raw;
            ++pos_;
        } else {
            while (!at_end() && (current().kind == TokenKind::atom || is('.'))) {
                domain += current().raw;
                ++pos_;
            }
        }
        add_mailbox(display_name, std::move(local_part), std::move(domain));
    }

    void add_mailbox(const std::string& display_name, std::string local_part, std::string domain)
    {
        std::string written = quote_for_problem(local_part + "@" + domain);
        if (domain.empty()) {
            problem("address \"" + written + "\" has no domain");
            return;
        }
        if (local_part.empty()) {
            problem("address \"" + written + "\" has no local part");
            return;
        }
        if (domain.front() == '.' || domain.back() == '.' ||
            domain.find("..") != std::string::npos)
            problem("address \"" + written + "\" has a malformed domain");
        if (out_.mailboxes.size() >= kMaxMailboxes) {
            problem("more than " + std::to_string(kMaxMailboxes) + " addresses");
            return;
        }
        out_.mailboxes.push_back(Mailbox{display_name, std::move(local_part), std::move(domain)});
    }

    std::vector<Token> tokens_;
    AddressList& out_;
    std::size_t pos_ = 0;
    std::size_t groups_ = 0;
};

}  // namespace

AddressList parse_address_list(std::string_view value)
{
    AddressList list;
    std::string tokenizer_problem;
    std::vector<Token> tokens = Tokenizer(value, tokenizer_problem).run();
    if (!tokenizer_problem.empty()) {
        list.valid = false;
        list.problem = tokenizer_problem;
    }

    AddressParser(std::move(tokens), list).parse_list();
    return list;
}

}  // namespace relaygate
