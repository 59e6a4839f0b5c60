// Boost.JSON and Boost.URL are used header-only; their definitions are
// compiled exactly once, here, for every target of the project.
#include <boost/json/src.hpp>
#include <boost/url/src.hpp>
