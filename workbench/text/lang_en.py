"""English language data: stop words, number words, norms and tokenizer rules.

Everything here is plain data (sets, dicts, regex source strings) so that the
tokenizer and the vocab stay free of language-specific constants.
"""

# --- lexical attributes -------------------------------------------------------

STOP_WORDS = frozenset(
    """
    a about above across after afterwards again against all almost alone along
    already also although always am among amongst an and another any anyhow
    anyone anything anyway anywhere are around as at back be became because
    become becomes becoming been before beforehand behind being below beside
    besides between beyond both but by can cannot could did do does doing done
    down during each either else elsewhere enough even ever every everyone
    everything everywhere except few first for former formerly from further
    had has have having he hence her here hereafter hereby herein hers herself
    him himself his how however i if in indeed into is it its itself just last
    latter latterly least less many may me meanwhile might mine more moreover
    most mostly much must my myself neither never nevertheless next no nobody
    none noone nor not nothing now nowhere of off often on once one only onto
    or other others otherwise our ours ourselves out over own per perhaps
    rather really same several she should since so some somehow someone
    something sometime sometimes somewhere still such than that the their
    theirs them themselves then thence there thereafter thereby therefore
    therein thereupon these they this those though through throughout thru
    thus to together too toward towards under unless until up upon us used
    very via was we well were what whatever when whence whenever where
    whereafter whereas whereby wherein whereupon wherever whether which while
    whither who whoever whole whom whose why will with within without would
    yet you your yours yourself yourselves
    n't 's 'm 're 've 'll 'd ’s ’m ’re ’ve ’ll ’d n’t
    """.split()
)

NUMBER_WORDS = frozenset(
    """
    zero one two three four five six seven eight nine ten eleven twelve
    thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty thirty
    forty fifty sixty seventy eighty ninety hundred thousand million billion
    trillion quadrillion dozen first second third fourth fifth sixth seventh
    eighth ninth tenth eleventh twelfth twentieth hundredth thousandth
    millionth billionth
    """.split()
)

# Norms that differ from the lowercase form (spelling variants, clitics, quotes).
NORM_EXCEPTIONS = {
    "n't": "not", "n’t": "not", "nt": "not",
    "'m": "am", "’m": "am", "'re": "are", "’re": "are",
    "'ve": "have", "’ve": "have", "'ll": "will", "’ll": "will",
    "ca": "can", "wo": "will", "sha": "shall", "ai": "is",
    "gon": "going", "na": "to", "wan": "want", "ta": "to",
    "“": '"', "”": '"', "„": '"', "«": '"', "»": '"', "''": '"', "``": '"',
    "‘": "'", "’": "'", "‚": "'",
    "—": "--", "–": "--",
    "colour": "color", "favour": "favor", "favourite": "favorite",
    "centre": "center", "theatre": "theater", "organise": "organize",
    "realise": "realize", "analyse": "analyze", "travelled": "traveled",
    "u": "you", "ur": "your", "thx": "thanks", "pls": "please", "plz": "please",
}

URL_TLDS = (
    "com|org|net|edu|gov|mil|int|io|co|ai|app|dev|info|biz|me|tv|us|uk|ca|de|fr|"
    "es|it|nl|eu|au|nz|jp|cn|in|ru|br|ch|se|no|fi|dk|pl|be|at|ie|za|mx|ly|gl|gy"
)

# --- tokenizer rules ----------------------------------------------------------

# Punctuation runs kept as one token: "!!!", "?!", "....", "====", "**".
_RUNS = r"[.!?]{2,}|(?P<run>[=*_~<>#+^-])(?P=run)+"

# Split off the start of a chunk (alternatives tried in order).

PREFIXES = [
    _RUNS, "…", "—", "–", "''|’’|``|‘‘",
    r"[\"'`(\[{<¿¡«“‘„‚*~§=+]",
    r"[$£€¥₹₩₽¢₴₪฿]",
]

# Split off the end of a chunk (the longest match wins). Clitics only after a letter.
SUFFIXES = [
    _RUNS, "…", "—", "–",
    r"(?<=[^\W\d_])[nN]['’][tT]",
    r"(?<=[^\W\d_])['’](?:[sSmMdD]|[lL][lL]|[rR][eE]|[vV][eE])",
    r"(?<=\d)(?:km|kg|mg|cm|mm|m|g|lbs?|ft|mi|mph|kph|hrs?|mins?|secs?|ms|ml|"
    r"oz|[kKmMgGtT][bB]|[ap]\.?m\.?|[AP]\.?M\.?)",
    r"(?<=\d)[$£€¥₹₩₽¢°%‰]",
    r"°[CF]",
    "''|’’|``|‘‘",
    r"[\"'`)\]}>»”’,;:!?.%*~]",
    r"[$£€¥₹₩₽¢]",
]

# Split inside a chunk (the match becomes its own token).
INFIXES = [
    _RUNS, "…", "—", "–",
    r"(?<=[^\W\d_])[-/](?=[^\W\d_])",          # well-known, and/or
    r"(?<=[^\W\d_])[,:;!?](?=[^\W\d_])",       # a,b  a:b (no space after punctuation)
    r"(?<=[a-z])\.(?=[A-Z][a-z])",             # end.Next (missing space)
    r"(?<=[\w)])[=<>^~](?=[\w(])",             # a=b
]

# Chunks matching this are kept whole (URLs, emails, handles, hashtags, acronyms).
TOKEN_MATCH = (
    r"(?:(?:https?|ftp)://|www\.)[^\s<>\"]*[^\s<>\"'.,;:!?)\]}]"
    r"|(?:mailto:)?[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}"
    r"|(?:[\w-]+\.)+(?:" + URL_TLDS + r")(?:/[^\s<>\"]*[^\s<>\"'.,;:!?)\]}])?"
    r"|[@#][^\W\d]\w*"
    r"|(?i:non|pre|post|anti|mid|re|co|pro|multi|ex|e|semi|sub|inter|intra|counter|ultra|neo)"
    r"-[^\W\d_]+"
    r"|(?:[A-Za-z]\.){2,}|[A-HJ-Z]\."                # U.S., e.g., initials (not 'I.')
    r"|['’]\d\ds?"                                  # '72, '90s
)

EMOTICONS = """
:) :-) :)) :-)) :( :-( :(( :'( :') :D :-D ;) ;-) ;D :P :-P :p :-p ;P :/ :-/
:\\ :| :-| :o :-o :O :-O :* :-* :] :-] :[ =) =( =D =] =/ <3 </3 <33 ^_^ ^^ -_-
o_O O_o o.O O.o xD XD xd (: ): :> :< >:( >:) 8-) :3 ¯\\_(ツ)_/¯
""".split()

ABBREVIATIONS = """
Mr. Mrs. Ms. Dr. Prof. St. Jr. Sr. Mt. Ft. Ave. Blvd. Rd. Gov. Sen. Rep. Gen.
Col. Lt. Sgt. Capt. Rev. Hon. Inc. Ltd. Co. Corp. Bros. vs. etc. approx. dept.
est. fig. misc. Jan. Feb. Mar. Apr. Jun. Jul. Aug. Sep. Sept. Oct. Nov. Dec.
Mon. Tue. Tues. Wed. Thu. Thur. Thurs. Fri. Sat. Sun. Ph.D. a.m. p.m. e.g.
i.e. U.S. U.K. U.N. E.U. D.C. L.A. N.Y. a.k.a.
""".split()

# Chunks with a fixed split (case variants are added by the tokenizer).
CONTRACTION_SPLITS = {
    "cannot": ("can", "not"),
    "gonna": ("gon", "na"),
    "gotta": ("got", "ta"),
    "wanna": ("wan", "na"),
    "y'all": ("y'", "all"),
    "y’all": ("y’", "all"),
    "dont": ("do", "nt"),
    "doesnt": ("does", "nt"),
    "didnt": ("did", "nt"),
    "isnt": ("is", "nt"),
    "arent": ("are", "nt"),
    "wasnt": ("was", "nt"),
    "werent": ("were", "nt"),
    "cant": ("ca", "nt"),
    "couldnt": ("could", "nt"),
    "wouldnt": ("would", "nt"),
    "shouldnt": ("should", "nt"),
    "havent": ("have", "nt"),
    "hasnt": ("has", "nt"),
    "im": ("i", "m"),
    "ive": ("i", "ve"),
}

# Chunks kept whole although a rule would split them.
KEEP_WHOLE = """
's 'm 'd 'll 're 've n't ’s ’m ’d ’ll ’re ’ve n’t 'em 'cause 'til o'clock
ma'am 'n' rock'n'roll e-mail
""".split()
