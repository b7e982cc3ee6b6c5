/**
 * Python semantics the AIOS reference services leak into their HTTP answers.
 *
 * The parser, the gateway and the membership server are Flask apps whose error bodies are
 * `str(exception)`. To answer with the same texts, the stand-ins access request data through
 * these helpers, which fail the way CPython does (`KeyError` prints as `'id'`, `.get` on a
 * string is an `AttributeError`, and so on), and format dictionaries the way `str(dict)` does.
 */

export type PyTypeName = "dict" | "list" | "str" | "int" | "float" | "bool" | "NoneType";

/** An exception raised by emulated Python code; `message` is what `str(e)` prints. */
export class PyError extends Error {
    constructor(readonly pyType: string, message: string) {
        super(message);
        this.name = pyType;
    }
}

export type PyDict = Record<string, unknown>;

export function isDict(v: unknown): v is PyDict {
    return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The Python type a JSON value decodes to (`json.loads`). */
export function pyTypeName(v: unknown): PyTypeName {
    if (v === null || v === undefined) return "NoneType";
    if (Array.isArray(v)) return "list";
    if (typeof v === "string") return "str";
    if (typeof v === "boolean") return "bool";
    if (typeof v === "number") return Number.isInteger(v) ? "int" : "float";
    return "dict";
}

/** Python truthiness of a decoded JSON value. */
export function truthy(v: unknown): boolean {
    if (v === null || v === undefined || v === false || v === 0 || v === "") return false;
    if (Array.isArray(v)) return v.length > 0;
    if (isDict(v)) return Object.keys(v).length > 0;
    return true;
}

function reprStr(s: string): string {
    const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
    let out = quote;
    for (const ch of s) {
        const code = ch.codePointAt(0) ?? 0;
        if (ch === "\\") out += "\\\\";
        else if (ch === quote) out += "\\" + ch;
        else if (ch === "\n") out += "\\n";
        else if (ch === "\r") out += "\\r";
        else if (ch === "\t") out += "\\t";
        else if (code < 0x20 || code === 0x7f) out += "\\x" + code.toString(16).padStart(2, "0");
        else out += ch;
    }
    return out + quote;
}

/** `repr(value)` (and `str(dict)`) of a decoded JSON value. */
export function pyRepr(v: unknown): string {
    if (v === null || v === undefined) return "None";
    if (v === true) return "True";
    if (v === false) return "False";
    if (typeof v === "number") return String(v);
    if (typeof v === "string") return reprStr(v);
    if (Array.isArray(v)) return "[" + v.map(pyRepr).join(", ") + "]";
    return "{" + Object.entries(v as PyDict).map(([k, x]) => `${reprStr(k)}: ${pyRepr(x)}`).join(", ") + "}";
}

/** `str(value)`: like repr, except that a string prints bare. */
export function pyStr(v: unknown): string {
    return typeof v === "string" ? v : pyRepr(v);
}

export function keyError(key: string): PyError {
    return new PyError("KeyError", reprStr(key));
}

export function attributeError(obj: unknown, attr: string): PyError {
    return new PyError("AttributeError", `'${pyTypeName(obj)}' object has no attribute '${attr}'`);
}

/** `obj.get(key, default)`. */
export function pget(obj: unknown, key: string, dflt?: unknown): unknown {
    if (!isDict(obj)) throw attributeError(obj, "get");
    return Object.prototype.hasOwnProperty.call(obj, key) ? obj[key] : dflt;
}

/** `obj[key]` with a string key. */
export function pitem(obj: unknown, key: string): unknown {
    if (isDict(obj)) {
        if (!Object.prototype.hasOwnProperty.call(obj, key)) throw keyError(key);
        return obj[key];
    }
    if (Array.isArray(obj)) throw new PyError("TypeError", "list indices must be integers or slices, not str");
    if (typeof obj === "string") throw new PyError("TypeError", "string indices must be integers, not 'str'");
    throw new PyError("TypeError", `'${pyTypeName(obj)}' object is not subscriptable`);
}

/** `obj[key] = value` with a string key. */
export function psetitem(obj: unknown, key: string, value: unknown): void {
    if (isDict(obj)) {
        obj[key] = value;
        return;
    }
    if (Array.isArray(obj)) throw new PyError("TypeError", "list indices must be integers or slices, not str");
    throw new PyError("TypeError", `'${pyTypeName(obj)}' object does not support item assignment`);
}

/** `sum(...)` over values that must be numbers (Python raises on `int + str`). */
export function pnum(v: unknown): number {
    if (typeof v === "number") return v;
    if (typeof v === "boolean") return v ? 1 : 0;
    throw new PyError("TypeError", `unsupported operand type(s) for +: 'int' and '${pyTypeName(v)}'`);
}

/** `str(e)` for anything thrown inside an emulated handler. */
export function pyErrorText(e: unknown): string {
    if (e instanceof PyError) return e.message;
    if (e instanceof Error) return e.message;
    return String(e);
}
