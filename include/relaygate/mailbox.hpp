// mailbox — reading messages from .eml files, mbox files (mboxo and mboxrd), Maildir folders,
// directories and standard input, one message at a time, never a whole mbox in memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace relaygate {

struct RawMessage {
    std::string path;          // the file it came from, "-" for standard input
    std::size_t index = 0;     // 0-based within an mbox or Maildir/directory
    std::uint64_t offset = 0;  // byte offset of the message (after the From_ line in an mbox)
    std::string bytes;         // the message; for mbox entries the From_ line is removed and
                               // ">From " quoting undone
    std::string error;         // non-empty when the message could not be read whole
                               // ("message exceeds 67108864 bytes", "mbox ends mid-message")
};

enum class MboxFormat { mboxrd, mboxo };

struct ReaderOptions {
    std::size_t max_message_bytes = 64u << 20;
    MboxFormat mbox_format = MboxFormat::mboxrd;
};

// Reads paths in order: "-" is standard input (one message, or an mbox when it starts with
// "From "), a file is one message or an mbox (when it starts with "From "), a Maildir is its
// cur/ and new/ (sorted), any other directory is walked recursively (sorted).
class MessageStream {
public:
    MessageStream(std::vector<std::string> paths, ReaderOptions options = {});
    ~MessageStream();
    MessageStream(const MessageStream&) = delete;
    MessageStream& operator=(const MessageStream&) = delete;

    // Fills out with the next message; false at the end of all inputs.
    bool next(RawMessage& out);

    // Inputs that could not be read at all, one line each ("cannot open x.eml: No such file
    // or directory"); the stream goes on past them.
    const std::vector<std::string>& errors() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace relaygate
