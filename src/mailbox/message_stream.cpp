// message_stream — reading messages one at a time from .eml files, mbox files, Maildirs,
// directory trees and standard input.
//
// An mbox is read line by line through a fixed buffer, so memory holds one message (at most
// max_message_bytes) whatever the size of the file.

#include "relaygate/mailbox.hpp"

#include "mailbox/directory_walker.hpp"
#include "mailbox/line_reader.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace relaygate {
namespace {

constexpr std::string_view kFromLine = "From ";
constexpr std::string_view kStdinPath = "-";

bool is_blank_line(const mailbox::LineInfo& line)
{
    return line.has_line_end && (line.prefix == "\n" || line.prefix == "\r\n");
}

// A "From " line after an empty line separates messages only when it looks like a From_ line,
// that is it carries a time of day ("From sender Thu Aug 22 12:36:23 2002"). Every mbox writer
// puts one there, while body text such as "From time to time" (unquoted by careless writers,
// as in CPython's mailbox_01.mbox and one SpamAssassin corpus file) has none.
bool is_separator_line(std::string_view line)
{
    if (line.substr(0, kFromLine.size()) != kFromLine)
        return false;
    auto digit = [&](std::size_t i) { return i < line.size() && line[i] >= '0' && line[i] <= '9'; };
    for (std::size_t colon = line.find(':', kFromLine.size()); colon != std::string_view::npos;
         colon = line.find(':', colon + 1)) {
        if (digit(colon - 1) && digit(colon + 1) && digit(colon + 2))
            return true;
    }
    return false;
}

// Number of '>' characters before "From " at the start of line (0 when it is no quoted From_).
std::size_t from_quote_depth(std::string_view line)
{
    std::size_t depth = 0;
    while (depth < line.size() && line[depth] == '>')
        ++depth;
    if (depth == 0 || line.substr(depth, kFromLine.size()) != kFromLine)
        return 0;
    return depth;
}

// Drops the empty line that separates a message from the next From_ line: it belongs to the
// mbox, not to the message.
void remove_separator_blank_line(std::string& bytes)
{
    std::string_view text(bytes);
    if (text.size() >= 4 && text.substr(text.size() - 4) == "\r\n\r\n")
        bytes.resize(bytes.size() - 2);
    else if (text.size() >= 2 && text.substr(text.size() - 2) == "\n\n")
        bytes.resize(bytes.size() - 1);
    else if (text == "\n" || text == "\r\n")
        bytes.clear();
}

std::string oversize_error(std::size_t limit)
{
    return "message exceeds " + std::to_string(limit) + " bytes";
}

}  // namespace

// One open file (or standard input) and how to cut it into messages.
struct OpenInput {
    std::string path;
    int fd = -1;
    bool owns_fd = false;
    bool mbox = false;
    bool finished = false;
    mailbox::LineReader reader;

    OpenInput(std::string input_path, int input_fd, bool owns)
        : path(std::move(input_path)), fd(input_fd), owns_fd(owns), reader(input_fd) {}
    ~OpenInput()
    {
        if (owns_fd)
            ::close(fd);
    }
    OpenInput(const OpenInput&) = delete;
    OpenInput& operator=(const OpenInput&) = delete;
};

struct MessageStream::Impl {
    std::vector<std::string> paths;
    std::size_t next_path = 0;
    ReaderOptions options;
    std::vector<std::string> errors;

    std::unique_ptr<mailbox::DirectoryWalker> walker;  // set while a directory is read
    std::size_t index = 0;                              // messages from the current input path
    std::unique_ptr<OpenInput> input;
    mailbox::LineInfo line;  // reused, so that reading a line allocates nothing

    bool open_next();
    bool open(const std::string& path, bool walked);
    void start_input();
    void read_single(RawMessage& out);
    void read_mbox_message(RawMessage& out);
    void note_read_error(RawMessage& out);
};

// Opens the next file of the current directory, or the next path; false when all are done.
bool MessageStream::Impl::open_next()
{
    while (true) {
        std::string path;
        if (walker) {
            if (walker->next(path) && open(path, true))
                return true;
            if (path.empty())
                walker.reset();
            continue;
        }
        if (next_path == paths.size())
            return false;

        path = paths[next_path++];
        index = 0;
        if (path == kStdinPath) {
            input = std::make_unique<OpenInput>(path, STDIN_FILENO, false);
            start_input();
            return true;
        }
        struct stat info;
        if (::stat(path.c_str(), &info) != 0) {
            errors.push_back("cannot open " + path + ": " + std::strerror(errno));
            continue;
        }
        if (S_ISDIR(info.st_mode)) {
            walker = std::make_unique<mailbox::DirectoryWalker>(path, errors);
            continue;
        }
        if (open(path, false))
            return true;
    }
}

// Opens one file and finds out whether it is an mbox. Files found by walking a directory are
// opened without blocking, so that a FIFO swapped in after the walk saw a file cannot hang us.
bool MessageStream::Impl::open(const std::string& path, bool walked)
{
    int flags = O_RDONLY | O_CLOEXEC | (walked ? O_NONBLOCK : 0);
    int fd = ::open(path.c_str(), flags);
    if (fd < 0) {
        errors.push_back("cannot open " + path + ": " + std::strerror(errno));
        return false;
    }
    struct stat info;
    if (walked && (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode))) {
        ::close(fd);
        return false;
    }

    input = std::make_unique<OpenInput>(path, fd, true);
    start_input();
    return true;
}

// An input starting with "From " is an mbox; its first From_ line is consumed here.
void MessageStream::Impl::start_input()
{
    input->mbox = input->reader.starts_with(kFromLine);
    if (input->mbox) {
        std::string from_line;
        input->reader.read_line(from_line, 0, line);
    }
}

void MessageStream::Impl::note_read_error(RawMessage& out)
{
    if (input->reader.read_error() == 0)
        return;
    std::string text = "cannot read " + input->path + ": " +
                       std::strerror(input->reader.read_error());
    errors.push_back(text);
    out.error = text;
}

// A file that is no mbox is one message, cut at max_message_bytes. Standard input is read to
// its end even then, so that the program writing to us does not die of SIGPIPE.
void MessageStream::Impl::read_single(RawMessage& out)
{
    input->finished = true;
    out.offset = 0;
    std::size_t limit = options.max_message_bytes;
    while (out.bytes.size() < limit &&
           input->reader.read_some(out.bytes, limit - out.bytes.size())) {
    }
    note_read_error(out);

    if (!input->reader.at_end()) {
        out.error = oversize_error(limit);
        if (input->path == kStdinPath) {
            std::string discard;
            while (input->reader.read_some(discard, mailbox::LineReader::kBufferBytes))
                discard.clear();
        }
    }
}

// Reads up to the next From_ line, undoing ">From " quoting; a message over the limit keeps
// its first max_message_bytes and the rest up to the next From_ line is skipped.
void MessageStream::Impl::read_mbox_message(RawMessage& out)
{
    out.offset = input->reader.offset();
    std::size_t limit = options.max_message_bytes;
    bool previous_blank = false;
    bool truncated = false;
    bool last_line_complete = true;

    while (true) {
        std::size_t line_begin = out.bytes.size();
        if (!input->reader.read_line(out.bytes, limit - out.bytes.size(), line)) {
            input->finished = true;
            break;
        }
        if (previous_blank && is_separator_line(line.prefix)) {
            out.bytes.resize(line_begin);
            remove_separator_blank_line(out.bytes);
            break;
        }

        truncated = truncated || line.stored < line.length;
        std::size_t depth = from_quote_depth(line.prefix);
        bool unquote = options.mbox_format == MboxFormat::mboxrd ? depth >= 1 : depth == 1;
        if (unquote && line.stored > 0)
            out.bytes.erase(line_begin, 1);
        previous_blank = is_blank_line(line);
        last_line_complete = line.has_line_end;
    }

    note_read_error(out);
    if (truncated)
        out.error = oversize_error(limit);
    // Every mbox writer ends a message with a line end, so a last line without one means the
    // file was cut off (an interrupted copy, a full disk). A lone .eml without a final line
    // end is common and not flagged: read_single() does not get here.
    else if (!last_line_complete && out.error.empty())
        out.error = "mbox ends mid-message";
}

MessageStream::MessageStream(std::vector<std::string> paths, ReaderOptions options)
    : impl_(std::make_unique<Impl>())
{
    impl_->paths = std::move(paths);
    impl_->options = options;
}

MessageStream::~MessageStream() = default;

bool MessageStream::next(RawMessage& out)
{
    Impl& impl = *impl_;
    if (!impl.input || impl.input->finished) {
        impl.input.reset();
        if (!impl.open_next())
            return false;
    }

    out.path = impl.input->path;
    out.index = impl.index++;
    out.bytes.clear();
    out.error.clear();
    if (impl.input->mbox)
        impl.read_mbox_message(out);
    else
        impl.read_single(out);
    return true;
}

const std::vector<std::string>& MessageStream::errors() const { return impl_->errors; }

}  // namespace relaygate
