"""Compiled arc-eager state machine: the parser's greedy decode and its static oracle.

Both kernels walk one doc at a time through its transitions (at most 2n per doc
of n tokens), with the state in small arrays that stay in cache:

- `decode_chunk`: per state, the sum of the precomputed slot rows of P (+ bias),
  maxout, the upper layer's scores of the valid actions only, the best one, apply.
  Python computes P for a chunk of docs (one GEMM) and calls the kernel once per
  chunk. The sums (`_sum_rows`, `_scores`) are compiled with reassociation, so they
  vectorise with several accumulators.
- `oracle_walk`: per state, its feature rows, validity code and static-oracle action.

State (per doc, local positions, -1 = none): `stack[:sp]`, buffer front `b`,
`head`, `label`, `lmost` / `rmost` (leftmost / rightmost dependent). Slot ids are
positions in `arc_eager.PARSER_SLOTS`; actions and validity codes as in
`arc_eager.ArcEagerMoves`.

Kernels are compiled by numba on first use and cached on disk (`cache=True`); where
no cache directory is writable they are compiled in memory instead.
"""
import numpy as np
from numba import njit


def _jit(fn=None, *, fastmath=False):
    """njit (nogil) with an on-disk cache, or without one where no cache location is writable;
    `@_jit(fastmath=...)` passes numba's fastmath flags."""
    if fn is None:
        return lambda f: _jit(f, fastmath=fastmath)
    try:
        return njit(cache=True, nogil=True, fastmath=fastmath)(fn)
    except RuntimeError:  # numba: "cannot cache function ...: no locator available"
        return njit(cache=False, nogil=True, fastmath=fastmath)(fn)


# reassociation and contraction only (no assumptions about inf or nan): the sums vectorise
_FASTMATH = {"reassoc", "contract", "nsz", "arcp"}


@_jit(fastmath=_FASTMATH)
def _sum_rows(P, rows, bias, z):
    """z (nOP,) = bias + sum over slots f of P[rows[f], f]; four slots per pass over z."""
    nF, nOP = P.shape[1], P.shape[2]
    for j in range(nOP):
        z[j] = bias[j]
    f = 0
    while f + 4 <= nF:
        r0, r1, r2, r3 = rows[f], rows[f + 1], rows[f + 2], rows[f + 3]
        for j in range(nOP):
            z[j] += (P[r0, f, j] + P[r1, f + 1, j]) + (P[r2, f + 2, j] + P[r3, f + 3, j])
        f += 4
    while f < nF:
        r = rows[f]
        for j in range(nOP):
            z[j] += P[r, f, j]
        f += 1


@_jit(fastmath=_FASTMATH)
def _scores(h, W2c, b2c, code, nk, s):
    """s[:nk] = W2c[code, :nk] @ h + b2c[code, :nk], W2c (3, nA, nH); four actions per pass
    over h. (Whole arrays and the code, not views: a view per state costs reference counts.)"""
    nH = W2c.shape[2]
    k = 0
    while k + 4 <= nk:
        a0 = a1 = a2 = a3 = np.float32(0.0)
        for o in range(nH):
            ho = h[o]
            a0 += ho * W2c[code, k, o]
            a1 += ho * W2c[code, k + 1, o]
            a2 += ho * W2c[code, k + 2, o]
            a3 += ho * W2c[code, k + 3, o]
        s[k], s[k + 1] = a0 + b2c[code, k], a1 + b2c[code, k + 1]
        s[k + 2], s[k + 3] = a2 + b2c[code, k + 2], a3 + b2c[code, k + 3]
        k += 4
    while k < nk:
        a = np.float32(0.0)
        for o in range(nH):
            a += h[o] * W2c[code, k, o]
        s[k] = a + b2c[code, k]
        k += 1


@_jit
def _context(ctx, stack, sp, b, n, lmost, rmost):
    """ctx (10,): the local token at each PARSER_SLOTS position, -1 if none."""
    s0 = stack[sp - 1] if sp > 0 else -1
    s1 = stack[sp - 2] if sp > 1 else -1
    ctx[0] = s0
    ctx[1] = b
    ctx[2] = s1
    ctx[3] = b + 1 if b + 1 < n else -1
    ctx[4] = stack[sp - 3] if sp > 2 else -1
    ctx[5] = lmost[s0] if s0 >= 0 else -1
    ctx[6] = rmost[s0] if s0 >= 0 else -1
    ctx[7] = lmost[b]
    ctx[8] = rmost[s1] if s1 >= 0 else -1
    ctx[9] = b + 2 if b + 2 < n else -1


@_jit
def _code(stack, sp, head):
    """Validity-table row: 0 empty stack, 1 s0 without a head, 2 s0 with a head."""
    if sp == 0:
        return 0
    return 2 if head[stack[sp - 1]] >= 0 else 1


@_jit
def _apply(kind, lab, stack, sp, b, head, label, lmost, rmost):
    """Take one (valid) action of `kind` (0 S, 1 D, 2 L, 3 R) with label `lab`; -> (sp, b)."""
    if kind == 2:  # LEFT: s0 <- b, pop
        s0 = stack[sp - 1]
        head[s0] = b
        label[s0] = lab
        lmost[b] = s0  # left arcs to b come nearest first
        return sp - 1, b
    if kind == 3:  # RIGHT: s0 -> b, push b
        s0 = stack[sp - 1]
        head[b] = s0
        label[b] = lab
        rmost[s0] = b  # right arcs from s0 go further each time
    if kind == 1:  # REDUCE
        return sp - 1, b
    stack[sp] = b  # SHIFT or RIGHT
    return sp + 1, b + 1


@_jit
def _apply_closing(kind, lab, stack, sp, head, label, lmost, rmost):
    """A closing move (the buffer is empty, the top r = s0 headless and sp >= 2): r acts
    as the buffer front and t = s1 as the stack top. SHIFT: r is a root; REDUCE: pop t
    (it has a head); LEFT: t <- r, pop t; RIGHT: t -> r. r leaves the stack unless
    LEFT; -> sp."""
    r, t = stack[sp - 1], stack[sp - 2]
    if kind == 2:
        head[t] = r
        label[t] = lab
        lmost[r] = t  # t is left of all of r's dependents
    elif kind == 3:
        head[r] = t
        label[r] = lab
        rmost[t] = r
    if kind == 1 or kind == 2:  # t leaves, r stays on top
        stack[sp - 2] = r
    return sp - 1


@_jit
def _state_scores(P, bias, W2c, b2c, n_pieces, rows, code, valid_cols, n_valid, z, h, s):
    """s[:nk] = the scores of the nk = n_valid[code] valid actions (valid_cols[code, :nk]) of
    the state whose slot rows of P are `rows`; returns nk. z (nOP,), h (nH,) are scratch."""
    nH = z.shape[0] // n_pieces
    _sum_rows(P, rows, bias, z)
    for o in range(nH):  # maxout over the pieces
        h[o] = z[o]
    for p in range(1, n_pieces):
        for o in range(nH):
            h[o] = max(h[o], z[p * nH + o])
    nk = n_valid[code]
    if W2c.shape[2] > 0:  # only the valid actions' scores, from their own contiguous weights
        _scores(h, W2c, b2c, code, nk, s)
    else:
        for k in range(nk):
            s[k] = h[valid_cols[code, k]]
    return nk


@_jit
def decode_chunk(P, bias, W2c, b2c, n_pieces, starts, lengths, slots, valid_cols, n_valid, kinds,
                 labels_of, closing, heads_out, labels_out):
    """Greedy decode of the docs of one chunk.

    P (n_tok + 1, nF, nOP): each chunk token's lower-layer projection per slot, row
    n_tok the pads, pieces first (column p * nH + o is piece p of hidden unit o);
    bias (nOP,) likewise; valid_cols (3, nA), n_valid (3,): per validity code its
    n_valid valid action ids, ascending, in the first columns; W2c (3, nA, nH), b2c
    (3, nA): the upper layer's weights (rows) and biases of those actions in the same
    order, or shape (3, 0, 0) for no upper layer (then the maxout output is the
    scores); starts, lengths (n_docs,): each doc's first row in P and token count;
    slots (nF,) PARSER_SLOTS ids; kinds, labels_of (nA,) each action's kind and label.
    Writes local heads (-1 root) and label ids (-1 root) into heads_out, labels_out
    (n_tok,). With an empty stack SHIFT, the only valid action, is taken unscored.
    closing: once the buffer is empty, the tokens left on the stack without a head are
    attached or kept as roots by closing moves (`_apply_closing`), scored like any state.
    """
    _, nF, nOP = P.shape
    pad_row = P.shape[0] - 1
    nA = kinds.shape[0]
    T = 1
    for n in lengths:
        T = max(T, n)
    stack = np.empty(T + 1, np.int64)
    head = np.empty(T + 1, np.int64)
    label = np.empty(T + 1, np.int32)
    lmost = np.empty(T + 1, np.int64)
    rmost = np.empty(T + 1, np.int64)
    rows = np.empty(nF, np.int64)
    ctx = np.empty(10, np.int64)
    z = np.empty(nOP, np.float32)
    h = np.empty(nOP // n_pieces, np.float32)
    s = np.empty(nA, np.float32)
    for d in range(len(lengths)):
        n, start = lengths[d], starts[d]
        head[:n] = -1
        label[:n] = -1
        lmost[:n] = -1
        rmost[:n] = -1
        sp, b = 0, 0
        while b < n:
            code = _code(stack, sp, head)
            if code == 0:  # empty stack: SHIFT is the only valid action
                sp, b = _apply(0, -1, stack, sp, b, head, label, lmost, rmost)
                continue
            _context(ctx, stack, sp, b, n, lmost, rmost)
            for f in range(nF):
                tok = ctx[slots[f]]
                rows[f] = start + tok if tok >= 0 else pad_row
            nk = _state_scores(P, bias, W2c, b2c, n_pieces, rows, code, valid_cols, n_valid, z, h, s)
            best, top = 0, -np.inf
            for k in range(nk):
                if s[k] > top:
                    best, top = k, s[k]
            act = valid_cols[code, best]
            sp, b = _apply(kinds[act], labels_of[act], stack, sp, b, head, label, lmost, rmost)
        while closing and sp > 1:  # the buffer is empty: attach what is left, or keep it as roots
            r = stack[sp - 1]
            if head[r] >= 0:  # REDUCE, the only move
                sp -= 1
                continue
            code = _code(stack, sp - 1, head)  # of t = s1
            _context(ctx, stack, sp - 1, r, r + 1, lmost, rmost)  # r as the buffer front
            for f in range(nF):
                tok = ctx[slots[f]]
                rows[f] = start + tok if tok >= 0 else pad_row
            nk = _state_scores(P, bias, W2c, b2c, n_pieces, rows, code, valid_cols, n_valid, z, h, s)
            best, top = 0, -np.inf
            for k in range(nk):
                if s[k] > top:
                    best, top = k, s[k]
            act = valid_cols[code, best]
            sp = _apply_closing(kinds[act], labels_of[act], stack, sp, head, label, lmost, rmost)
        heads_out[start:start + n] = head[:n]
        labels_out[start:start + n] = label[:n]


@_jit
def _slot_rows(ctx, slots, start, pad_row, rows, feat):
    """A state's rows of P per feature slot (rows, the pad row for none) and global token rows (feat, -1)."""
    for f in range(len(slots)):
        tok = ctx[slots[f]]
        rows[f] = start + tok if tok >= 0 else pad_row
        feat[f] = start + tok if tok >= 0 else -1


@_jit
def _action_costs(nk, code, valid_cols, kinds, labels_of, c_shift, c_reduce, c_left, c_right,
                  left_dep, left_head, right_dep, right_head, gh, gold_label, start, cost):
    """cost[:nk] of the valid actions of `code` from their kinds' costs, plus 1 for a wrong
    label on a gold arc (LEFT makes left_head -> left_dep, RIGHT right_head -> right_dep);
    -> the lowest."""
    low = 1 << 40
    for k in range(nk):
        a = valid_cols[code, k]
        kind = kinds[a]
        if kind == 0:
            c = c_shift
        elif kind == 1:
            c = c_reduce
        elif kind == 2:
            c = c_left + (1 if gh[left_dep] == left_head and labels_of[a] != gold_label[start + left_dep] else 0)
        else:
            c = c_right + (1 if gh[right_dep] == right_head and labels_of[a] != gold_label[start + right_dep] else 0)
        cost[k] = c
        low = min(low, c)
    return low


@_jit
def _record(m, code, step, nk, s, cost, low, valid_cols, gold, codes, steps, taken, follow_model):
    """Store state m's gold (its cheapest valid actions), code and step; -> the action to
    follow: the model's best, or (follow_model[m] false) the best-scoring gold one."""
    best_model, top_model, best_gold, top_gold = 0, -np.inf, -1, -np.inf
    for k in range(nk):
        if s[k] > top_model:
            best_model, top_model = k, s[k]
        if cost[k] == low:
            gold[m, valid_cols[code, k]] = True
            if s[k] > top_gold or best_gold < 0:
                best_gold, top_gold = k, s[k]
    act = valid_cols[code, best_model if follow_model[m] else best_gold]
    codes[m] = code
    steps[m] = step
    taken[m] = act
    return act


@_jit
def explore_walk(P, bias, W2c, b2c, n_pieces, lengths, slots, valid_cols, n_valid, kinds, labels_of,
                 closing, gold_head, gold_label, follow_model):
    """Training walk with the dynamic oracle: per state, its feature rows, validity code
    and which valid actions cost no reachable gold arc (arc-eager costs of Goldberg &
    Nivre, a gold root's head being a virtual token after the doc, always in the buffer).

    P ... labels_of as for decode_chunk, over all the batch's tokens (starts: cumulative
    lengths); closing as for decode_chunk, its closing moves costed as the arcs of the
    token each takes off the stack; gold_head, gold_label (N,) local, concatenated (-1:
    root); follow_model (>= 3N,) bool, one per state returned: take the model's best valid action there, else
    the best-scoring zero-cost one. A state with no zero-cost action (a gold forest the
    transitions cannot build) takes its cheapest ones as gold. States with an empty
    stack (SHIFT only) are walked but not returned.

    Returns feats (M, nF) global token rows (-1 pad), codes (M,), gold (M, nA) bool,
    taken (M,) the action followed, steps (M,) (each state's transition number in its
    doc), over the M states, doc by doc.
    """
    _, nF, nOP = P.shape
    pad_row = P.shape[0] - 1
    nA = kinds.shape[0]
    N = 0
    T = 1
    for n in lengths:
        N += n
        T = max(T, n)
    M = 3 * N  # at most 2n transitions and n closing moves per doc
    feats = np.empty((M, nF), np.int64)
    codes = np.empty(M, np.int64)
    gold = np.zeros((M, nA), np.bool_)
    steps = np.empty(M, np.int64)
    taken = np.empty(M, np.int64)
    stack = np.empty(T + 1, np.int64)
    head = np.empty(T + 1, np.int64)
    label = np.empty(T + 1, np.int32)
    lmost = np.empty(T + 1, np.int64)
    rmost = np.empty(T + 1, np.int64)
    gh = np.empty(T + 1, np.int64)  # gold heads, the virtual root n for roots
    on_stack = np.empty(T + 1, np.bool_)
    kids_in_buffer = np.empty(T + 1, np.int64)  # gold dependents at b or later
    headless_kids_on_stack = np.empty(T + 1, np.int64)  # gold dependents on the stack without a head
    rows = np.empty(nF, np.int64)
    ctx = np.empty(10, np.int64)
    z = np.empty(nOP, np.float32)
    h = np.empty(nOP // n_pieces, np.float32)
    s = np.empty(nA, np.float32)
    cost = np.empty(nA, np.int64)
    m, start = 0, 0
    for d in range(len(lengths)):
        n = lengths[d]
        head[:n] = -1
        label[:n] = -1
        lmost[:n] = -1
        rmost[:n] = -1
        on_stack[:n + 1] = False
        kids_in_buffer[:n + 1] = 0
        headless_kids_on_stack[:n + 1] = 0
        for i in range(n):
            g = gold_head[start + i]
            gh[i] = g if g >= 0 else n
            kids_in_buffer[gh[i]] += 1
        sp, b, step = 0, 0, 0
        while b < n:
            code = _code(stack, sp, head)
            if code == 0:
                act = 0
            else:
                _context(ctx, stack, sp, b, n, lmost, rmost)
                _slot_rows(ctx, slots, start, pad_row, rows, feats[m])
                nk = _state_scores(P, bias, W2c, b2c, n_pieces, rows, code, valid_cols, n_valid, z, h, s)
                s0 = stack[sp - 1]
                # costs of the kinds, without the label: arcs that stop being reachable
                c_shift = headless_kids_on_stack[b] + (1 if on_stack[gh[b]] else 0)
                c_pop = kids_in_buffer[s0]  # REDUCE; LEFT adds s0's own head
                c_left = c_pop + (1 if gh[s0] > b else 0)
                if closing:  # a headless s0 keeps its arcs with the stack below for the closing moves
                    c_left += headless_kids_on_stack[s0] + (1 if on_stack[gh[s0]] else 0)
                c_right = headless_kids_on_stack[b] + (1 if gh[b] != s0 and (gh[b] > b or on_stack[gh[b]]) else 0)
                low = _action_costs(nk, code, valid_cols, kinds, labels_of, c_shift, c_pop, c_left, c_right,
                                    s0, b, b, s0, gh, gold_label, start, cost)
                act = _record(m, code, step, nk, s, cost, low, valid_cols, gold, codes, steps, taken, follow_model)
                m += 1
            step += 1
            kind = kinds[act]
            if kind == 0 or kind == 3:  # b leaves the buffer, onto the stack
                kids_in_buffer[gh[b]] -= 1
                on_stack[b] = True
                if kind == 0:
                    headless_kids_on_stack[gh[b]] += 1
            else:  # s0 leaves the stack
                s0 = stack[sp - 1]
                on_stack[s0] = False
                if kind == 2:
                    headless_kids_on_stack[gh[s0]] -= 1
            sp, b = _apply(kind, labels_of[act], stack, sp, b, head, label, lmost, rmost)
        while closing and sp > 1:  # closing moves, r = s0 as the buffer front, t = s1 as the stack top
            r, t = stack[sp - 1], stack[sp - 2]
            if head[r] >= 0:
                on_stack[r] = False
                sp -= 1
                continue
            code = _code(stack, sp - 1, head)
            _context(ctx, stack, sp - 1, r, r + 1, lmost, rmost)
            _slot_rows(ctx, slots, start, pad_row, rows, feats[m])
            nk = _state_scores(P, bias, W2c, b2c, n_pieces, rows, code, valid_cols, n_valid, z, h, s)
            # what each move makes unreachable: the arcs of the token it takes off the stack
            c_root = headless_kids_on_stack[r] + (1 if on_stack[gh[r]] else 0)
            c_reduce = 1 if gh[r] == t else 0
            c_left = headless_kids_on_stack[t] + (1 if gh[t] != r and (gh[t] == n or on_stack[gh[t]]) else 0)
            c_right = headless_kids_on_stack[r] + (1 if gh[r] != t and (gh[r] == n or on_stack[gh[r]]) else 0)
            low = _action_costs(nk, code, valid_cols, kinds, labels_of, c_root, c_reduce, c_left, c_right,
                                t, r, r, t, gh, gold_label, start, cost)
            act = _record(m, code, step, nk, s, cost, low, valid_cols, gold, codes, steps, taken, follow_model)
            m += 1
            step += 1
            kind = kinds[act]
            gone = t if kind == 1 or kind == 2 else r
            on_stack[gone] = False
            if kind != 1:  # it had no head
                headless_kids_on_stack[gh[gone]] -= 1
            sp = _apply_closing(kind, labels_of[act], stack, sp, head, label, lmost, rmost)
        start += n
    return feats[:m], codes[:m], gold[:m], taken[:m], steps[:m]


@_jit
def oracle_walk(lengths, gold_head, gold_label, slots, n_labels):
    """Follow the static oracle through every doc (gold_head, gold_label: (N,) local, concatenated).

    Returns feats (M, nF) global token rows (-1 pad), codes (M,), actions (M,), steps (M,)
    (each state's transition number in its doc) over the M states visited, doc by doc,
    and the heads (N,) the actions built (equal to gold_head for a
    projective gold forest with contiguous trees). Order: LEFT if s0's gold head is b;
    RIGHT if b's gold head is s0; REDUCE if s0 has its head and all its dependents; else SHIFT.
    """
    N = 0
    T = 1
    for n in lengths:
        N += n
        T = max(T, n)
    nF = len(slots)
    feats = np.empty((2 * N, nF), np.int64)
    codes = np.empty(2 * N, np.int64)
    acts = np.empty(2 * N, np.int64)
    steps = np.empty(2 * N, np.int64)
    built = np.empty(N, np.int64)
    stack = np.empty(T + 1, np.int64)
    head = np.empty(T + 1, np.int64)
    label = np.empty(T + 1, np.int32)
    lmost = np.empty(T + 1, np.int64)
    rmost = np.empty(T + 1, np.int64)
    deps_left = np.empty(T + 1, np.int64)  # gold dependents not yet attached
    ctx = np.empty(10, np.int64)
    m, start = 0, 0
    for d in range(len(lengths)):
        n = lengths[d]
        gh = gold_head[start:start + n]
        gl = gold_label[start:start + n]
        head[:n] = -1
        lmost[:n] = -1
        rmost[:n] = -1
        deps_left[:n] = 0
        for i in range(n):
            if gh[i] >= 0:
                deps_left[gh[i]] += 1
        sp, b, step = 0, 0, 0
        while b < n:
            steps[m] = step
            step += 1
            _context(ctx, stack, sp, b, n, lmost, rmost)
            for f in range(nF):
                tok = ctx[slots[f]]
                feats[m, f] = start + tok if tok >= 0 else -1
            codes[m] = _code(stack, sp, head)
            s0 = stack[sp - 1] if sp > 0 else -1
            if s0 >= 0 and gh[s0] == b and head[s0] < 0:
                act = 2 + gl[s0]
                deps_left[b] -= 1
            elif s0 >= 0 and gh[b] == s0:
                act = 2 + n_labels + gl[b]
                deps_left[s0] -= 1
            elif s0 >= 0 and head[s0] >= 0 and deps_left[s0] == 0:
                act = 1
            else:
                act = 0
            acts[m] = act
            m += 1
            kind = act if act < 2 else (2 if act < 2 + n_labels else 3)
            lab = -1 if act < 2 else (act - 2) % n_labels
            sp, b = _apply(kind, lab, stack, sp, b, head, label, lmost, rmost)
        built[start:start + n] = head[:n]
        start += n
    return feats[:m], codes[:m], acts[:m], steps[:m], built
