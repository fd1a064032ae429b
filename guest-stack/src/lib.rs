//! umlnet-guest: the guest side of UML networking on smoltcp, over any core `Link`.
