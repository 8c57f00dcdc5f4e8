//! Crate-private macros for impls that many types repeat word for word.

/// Builder setters: each `name(arg: Type);` becomes
/// `pub fn name(mut self, arg: Type) -> Ret { self.name = arg; self }`, and
/// `name(arg: Type) => field = value;` sets `self.field = value` instead (a wrapped value, or a
/// field of another name). Attributes and doc comments go on the method. Used inside an
/// `impl` block; `-> Ret` is its return type as written there (`Self` or the type's name);
/// `const -> Ret` makes `const fn`s.
macro_rules! setters {
    ($($qual:ident)? -> $ret:ty; $($items:tt)*) => {
        setters!(@items [$($qual)?] $ret; $($items)*);
    };
    (@items $qual:tt $ret:ty; $(
        $(#[$attr:meta])*
        $name:ident($arg:ident: $ty:ty) $(=> $field:ident = $value:expr)?;
    )*) => {
        $(setters!(@one $qual $ret; $(#[$attr])* $name($arg: $ty) $(=> $field = $value)?);)*
    };
    (@one $qual:tt $ret:ty; $(#[$attr:meta])* $name:ident($arg:ident: $ty:ty)) => {
        setters!(@one $qual $ret; $(#[$attr])* $name($arg: $ty) => $name = $arg);
    };
    (
        @one [$($qual:ident)?] $ret:ty;
        $(#[$attr:meta])* $name:ident($arg:ident: $ty:ty) => $field:ident = $value:expr
    ) => {
        $(#[$attr])*
        pub $($qual)? fn $name(mut self, $arg: $ty) -> $ret {
            self.$field = $value;
            self
        }
    };
}

/// `Display` for types whose text form is a `&'static str` method (`name` by default).
macro_rules! display_by {
    ($($ty:ty),+ $(,)?) => {
        $(display_by!($ty => name);)+
    };
    ($ty:ty => $method:ident) => {
        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.$method())
            }
        }
    };
}

/// `FromStr` for a named enum, through [`parse_name`](crate::util::parse_name): one of `all` by
/// its `name` method, ignoring case, once the `aliases` (`"alias" => "name"`) have mapped former
/// or alternative names; an error names the type as `what` and lists `expected`. Attributes and
/// doc comments go on `from_str`.
macro_rules! from_str_by_name {
    (
        $(#[$attr:meta])*
        $ty:ty: $what:literal, all $all:expr, expected $expected:expr
        $(, aliases { $($alias:literal => $name:literal),* $(,)? })?
    ) => {
        impl std::str::FromStr for $ty {
            type Err = crate::Error;

            $(#[$attr])*
            fn from_str(s: &str) -> crate::Result<$ty> {
                crate::util::parse_name(
                    s,
                    &$all,
                    <$ty>::name,
                    &[$($(($alias, $name)),*)?],
                    $what,
                    $expected,
                )
            }
        }
    };
}

/// `ExactSizeIterator` for borrowing iterators (`Name<'_>`) whose `size_hint` is exact, and a
/// `Debug` that shows how many items remain, never the items: hashes and ids stay out of logs.
macro_rules! exact_size_iter {
    ($($name:ident),+ $(,)?) => {
        $(
            impl ExactSizeIterator for $name<'_> {}

            impl std::fmt::Debug for $name<'_> {
                fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.debug_struct(stringify!($name))
                        .field("remaining", &self.len())
                        .finish()
                }
            }
        )+
    };
}
