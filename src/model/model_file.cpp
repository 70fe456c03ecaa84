// The model file, format 1. All integers little-endian, floats IEEE 754:
//
//   magic            8 bytes  "RGMODEL\x1a"
//   format version   u32      1
//   hash bits        u32      min_hash_bits .. max_hash_bits
//   flags            u32      bit 0: bigrams
//   spam messages    u64      trained on
//   ham messages     u64
//   threshold        f64      in [0, 1]
//   bias             f64
//   cv recall        f64
//   cv fpr           f64
//   date length      u32      <= max_date_bytes, then that many bytes (UTC ISO 8601)
//   weight scale     f64      > 0: a weight is a stored step times this
//   weight count     u32      <= 2^hash bits
//   weights          count x (bucket gap: LEB128 varint, the distance to the previous bucket
//                    minus 1, the first counted from -1; step: i16)
//   checksum         u64      FNV-1a-64 of every byte before it
//
// Only nonzero weights are stored, about 3 bytes each. Every size is checked against the bytes
// that are really there before anything is allocated, so a hostile or damaged file costs no
// more than its size.
#include <algorithm>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "relaygate/model.hpp"

namespace relaygate::model {

namespace {

constexpr char magic[8] = {'R', 'G', 'M', 'O', 'D', 'E', 'L', '\x1a'};
constexpr std::uint32_t flag_bigrams = 1;
constexpr std::uint32_t max_date_bytes = 64;
constexpr std::size_t min_weight_entry_bytes = 3;  // one-byte gap and the step
constexpr std::size_t max_varint_bytes = 5;        // enough for any 32-bit gap
// The largest file a valid model can be: every bucket of the largest table, and the header.
constexpr std::uintmax_t max_model_file_bytes =
    (std::uintmax_t{1} << max_hash_bits) * (max_varint_bytes + 2) + 4096;

static_assert(std::endian::native == std::endian::little,
              "the model file is read and written by copying little-endian values");

std::uint64_t checksum(std::string_view bytes)
{
    std::uint64_t hash = 14695981039346656037ull;
    for (char c : bytes) {
        hash ^= static_cast<unsigned char>(c);
        hash *= 1099511628211ull;
    }
    return hash;
}

class Writer {
public:
    template <typename T>
    void put(T value)
    {
        char bytes[sizeof(T)];
        std::memcpy(bytes, &value, sizeof(T));
        out_.append(bytes, sizeof(T));
    }
    void put_bytes(std::string_view bytes) { out_ += bytes; }
    void put_varint(std::uint32_t value)
    {
        while (value >= 0x80) {
            out_ += static_cast<char>((value & 0x7F) | 0x80);
            value >>= 7;
        }
        out_ += static_cast<char>(value);
    }
    std::string& bytes() { return out_; }

private:
    std::string out_;
};

// Reads values in order; running out of bytes is an Error naming the file and the offset.
class Reader {
public:
    Reader(std::string_view bytes, std::string_view name) : bytes_(bytes), name_(name) {}

    template <typename T>
    T get()
    {
        need(sizeof(T));
        T value;
        std::memcpy(&value, bytes_.data() + at_, sizeof(T));
        at_ += sizeof(T);
        return value;
    }
    std::string_view get_bytes(std::size_t count)
    {
        need(count);
        std::string_view part = bytes_.substr(at_, count);
        at_ += count;
        return part;
    }
    std::uint32_t get_varint()
    {
        std::uint64_t value = 0;
        for (std::size_t k = 0; k < max_varint_bytes; ++k) {
            auto byte = get<std::uint8_t>();
            value |= std::uint64_t{byte & 0x7Fu} << (7 * k);
            if ((byte & 0x80) == 0) {
                if (value > UINT32_MAX) {
                    break;
                }
                return static_cast<std::uint32_t>(value);
            }
        }
        fail("invalid number at byte " + std::to_string(at_));
    }
    std::size_t remaining() const { return bytes_.size() - at_; }
    std::size_t offset() const { return at_; }

    [[noreturn]] void fail(const std::string& problem) const
    {
        throw Error(std::string(name_) + ": " + problem);
    }
    void need(std::size_t count) const
    {
        if (remaining() < count) {
            fail("truncated at byte " + std::to_string(bytes_.size()));
        }
    }

private:
    std::string_view bytes_;
    std::string_view name_;
    std::size_t at_ = 0;
};

void check_magic_and_version(Reader& reader, std::string_view bytes)
{
    std::size_t present = std::min(bytes.size(), sizeof magic);
    if (std::memcmp(bytes.data(), magic, present) != 0) {
        reader.fail("not a relaygate model file (wrong magic)");
    }
    reader.get_bytes(sizeof magic);
    auto version = reader.get<std::uint32_t>();
    if (version != format_version) {
        reader.fail("written by model format " + std::to_string(version) +
                    ", this relaygate reads " + std::to_string(format_version));
    }
}

bool finite_probability(double p)
{
    return std::isfinite(p) && p >= 0 && p <= 1;
}

}  // namespace

std::string Model::serialize() const
{
    Writer writer;
    writer.put_bytes(std::string_view(magic, sizeof magic));
    writer.put<std::uint32_t>(format_version);
    writer.put<std::uint32_t>(info_.features.hash_bits);
    writer.put<std::uint32_t>(info_.features.bigrams ? flag_bigrams : 0);
    writer.put<std::uint64_t>(info_.spam_messages);
    writer.put<std::uint64_t>(info_.ham_messages);
    writer.put<double>(info_.threshold);
    writer.put<double>(bias_);
    writer.put<double>(info_.cv_recall);
    writer.put<double>(info_.cv_false_positive_rate);
    std::string date = info_.trained_at.substr(0, max_date_bytes);
    writer.put<std::uint32_t>(static_cast<std::uint32_t>(date.size()));
    writer.put_bytes(date);

    writer.put<double>(weight_scale_ > 0 ? weight_scale_ : 1.0);
    std::uint32_t count = 0;
    for (float weight : weights_) {
        count += weight != 0 ? 1 : 0;
    }
    writer.put<std::uint32_t>(count);
    std::int64_t previous = -1;
    for (std::size_t bucket = 0; bucket < weights_.size(); ++bucket) {
        if (weights_[bucket] != 0) {
            writer.put_varint(static_cast<std::uint32_t>(static_cast<std::int64_t>(bucket) -
                                                         previous - 1));
            writer.put<std::int16_t>(
                static_cast<std::int16_t>(std::lround(weights_[bucket] / weight_scale_)));
            previous = static_cast<std::int64_t>(bucket);
        }
    }
    writer.put<std::uint64_t>(checksum(writer.bytes()));
    return std::move(writer.bytes());
}

Model Model::deserialize(std::string_view bytes, std::string_view name)
{
    Reader reader(bytes, name);
    check_magic_and_version(reader, bytes);

    // The header, each value checked before it is used.
    Model model;
    auto hash_bits = reader.get<std::uint32_t>();
    if (hash_bits < min_hash_bits || hash_bits > max_hash_bits) {
        reader.fail("hash bits " + std::to_string(hash_bits) + " out of range");
    }
    model.info_.features.hash_bits = hash_bits;
    model.info_.features.bigrams = (reader.get<std::uint32_t>() & flag_bigrams) != 0;
    model.info_.spam_messages = reader.get<std::uint64_t>();
    model.info_.ham_messages = reader.get<std::uint64_t>();
    model.info_.threshold = reader.get<double>();
    model.bias_ = reader.get<double>();
    model.info_.cv_recall = reader.get<double>();
    model.info_.cv_false_positive_rate = reader.get<double>();
    if (!finite_probability(model.info_.threshold) || !std::isfinite(model.bias_) ||
        !finite_probability(model.info_.cv_recall) ||
        !finite_probability(model.info_.cv_false_positive_rate)) {
        reader.fail("threshold, bias or figures are not valid numbers");
    }
    auto date_length = reader.get<std::uint32_t>();
    if (date_length > max_date_bytes) {
        reader.fail("date of " + std::to_string(date_length) + " bytes is too long");
    }
    model.info_.trained_at = std::string(reader.get_bytes(date_length));

    // The weights: the count is checked against the table and the bytes present first.
    model.weight_scale_ = reader.get<double>();
    if (!std::isfinite(model.weight_scale_) || model.weight_scale_ <= 0) {
        reader.fail("weight scale is not a positive number");
    }
    std::size_t buckets = std::size_t{1} << hash_bits;
    auto count = reader.get<std::uint32_t>();
    if (count > buckets) {
        reader.fail("weight count " + std::to_string(count) + " exceeds the table");
    }
    reader.need(std::size_t{count} * min_weight_entry_bytes);
    model.weights_.assign(buckets, 0.0f);
    std::uint64_t next_bucket = 0;
    for (std::uint32_t i = 0; i < count; ++i) {
        std::uint64_t bucket = next_bucket + reader.get_varint();
        auto step = reader.get<std::int16_t>();
        if (bucket >= buckets) {
            reader.fail("weight entry " + std::to_string(i) + " is outside the table");
        }
        model.weights_[bucket] = static_cast<float>(step * model.weight_scale_);
        next_bucket = bucket + 1;
    }
    model.info_.nonzero_weights = count;

    // The checksum last: it also catches bytes changed inside valid ranges.
    std::size_t covered = reader.offset();
    auto stored = reader.get<std::uint64_t>();
    if (reader.remaining() != 0) {
        reader.fail(std::to_string(reader.remaining()) + " unexpected bytes after the checksum");
    }
    if (stored != checksum(bytes.substr(0, covered))) {
        reader.fail("checksum mismatch (the file is damaged)");
    }
    return model;
}

void Model::save(const std::string& path) const
{
    std::string bytes = serialize();
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (out) {
        out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    }
    if (!out || !out.flush()) {
        throw Error("cannot write " + path + ": " + std::strerror(errno));
    }
}

Model Model::load(const std::string& path)
{
    std::error_code error;
    std::uintmax_t size = std::filesystem::file_size(path, error);
    if (error) {
        throw Error("cannot open " + path + ": " + error.message());
    }
    if (size > max_model_file_bytes) {
        throw Error(path + ": " + std::to_string(size) + " bytes is larger than any model");
    }
    std::ifstream in(path, std::ios::binary);
    std::string bytes(static_cast<std::size_t>(size), '\0');
    if (!in || !in.read(bytes.data(), static_cast<std::streamsize>(size))) {
        throw Error("cannot read " + path + ": " + std::strerror(errno));
    }
    return deserialize(bytes, path);
}

}  // namespace relaygate::model
