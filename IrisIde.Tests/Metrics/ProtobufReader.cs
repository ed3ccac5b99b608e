using System.Buffers.Binary;
using System.Text;

namespace IrisIde.Tests.Metrics;

/// <summary>The wire types of protobuf's encoding; groups (3 and 4), long deprecated, are refused.</summary>
public enum WireType
{
    Varint = 0,
    Fixed64 = 1,
    LengthDelimited = 2,
    Fixed32 = 5,
}

/// <summary>
/// Reads one protobuf message field by field: <see cref="TryReadField"/> reads a tag, then the value is read with
/// the method of its type (which refuses a tag of another wire type) or skipped with <see cref="Skip"/>. Just the
/// wire format the test OTLP receiver decodes; truncated or malformed input throws <see cref="FormatException"/>.
/// </summary>
public ref struct ProtobufReader
{
    private readonly ReadOnlySpan<byte> _data;
    private int _position;
    private int _field;
    private WireType _wireType;

    public ProtobufReader(ReadOnlySpan<byte> data) => _data = data;

    /// <summary>Reads the next tag; false at the end of the message.</summary>
    public bool TryReadField(out int field)
    {
        if (_position == _data.Length)
        {
            field = 0;
            return false;
        }

        var tag = ReadRawVarint();
        _field = checked((int)(tag >> 3));
        _wireType = (WireType)(tag & 7);
        if (_field == 0 || !Enum.IsDefined(_wireType))
        {
            throw new FormatException($"tag {tag} (field {_field}, wire type {(int)_wireType}) at byte {_position} is not one this reader knows");
        }

        field = _field;
        return true;
    }

    public ulong ReadVarint()
    {
        Expect(WireType.Varint);
        return ReadRawVarint();
    }

    public bool ReadBool() => ReadVarint() != 0;

    public long ReadInt64() => unchecked((long)ReadVarint());

    public ulong ReadFixed64()
    {
        Expect(WireType.Fixed64);
        return BinaryPrimitives.ReadUInt64LittleEndian(Take(8));
    }

    public long ReadSFixed64() => unchecked((long)ReadFixed64());

    public double ReadDouble() => BitConverter.UInt64BitsToDouble(ReadFixed64());

    /// <summary>The bytes of a length-delimited field: a nested message, a string, packed values.</summary>
    public ReadOnlySpan<byte> ReadBytes()
    {
        Expect(WireType.LengthDelimited);
        var length = ReadRawVarint();
        return length > int.MaxValue ? throw new FormatException($"length {length} at byte {_position}") : Take((int)length);
    }

    public string ReadString() => Encoding.UTF8.GetString(ReadBytes());

    /// <summary>Steps over the value of the field just read, whatever it is, by its wire type.</summary>
    public void Skip()
    {
        switch (_wireType)
        {
            case WireType.Varint:
                ReadRawVarint();
                break;
            case WireType.Fixed64:
                Take(8);
                break;
            case WireType.LengthDelimited:
                ReadBytes();
                break;
            case WireType.Fixed32:
                Take(4);
                break;
            default:
                throw new FormatException($"wire type {(int)_wireType}");
        }
    }

    private readonly void Expect(WireType wireType)
    {
        if (_wireType != wireType)
        {
            throw new FormatException($"field {_field} has wire type {_wireType}, read as {wireType}");
        }
    }

    private ulong ReadRawVarint()
    {
        ulong value = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            var b = Take(1)[0];
            value |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0)
            {
                return value;
            }
        }

        throw new FormatException($"a varint longer than 10 bytes before byte {_position}");
    }

    private ReadOnlySpan<byte> Take(int count)
    {
        if (count > _data.Length - _position)
        {
            throw new FormatException($"{count} bytes wanted at byte {_position} of {_data.Length}");
        }

        var taken = _data.Slice(_position, count);
        _position += count;
        return taken;
    }
}
